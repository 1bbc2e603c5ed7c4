"""A brand's settings, changed by the REST API and the console alike."""

from __future__ import annotations

from sqlmodel import Session

from dealpilot.core.errors import ErrorDetail, Unprocessable
from dealpilot.deals.lookup import get_or_404
from dealpilot.deals.updates import apply_update
from models import Brand
from models.brand import BrandUpdate


def _sending_domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def update_brand(session: Session, brand_id: int, data: BrandUpdate) -> Brand:
    """The fields sent; 404 unknown brand; 422 when the window would end before it starts."""
    brand = get_or_404(session, Brand, brand_id, what="Brand")
    domain = _sending_domain(brand.from_email)
    apply_update(brand, data, nullable={"reply_to"})
    if brand.warmup_enabled and _sending_domain(brand.from_email) != domain:
        # A new sending domain has no reputation yet: its ramp starts again from the start
        # cap on the next send (dealpilot.deals.warmup).
        brand.warmup_level, brand.warmup_started_on, brand.warmup_level_on = 0, None, None
    if brand.send_window_start >= brand.send_window_end:
        raise Unprocessable(
            "The send window must start before it ends",
            code="validation_error",
            details=[ErrorDetail(field="send_window_end", problem="must be after the start")],
        )
    session.add(brand)
    session.flush()
    return brand
