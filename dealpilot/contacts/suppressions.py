"""Adding and removing suppressions, for the REST API and the console alike."""

from __future__ import annotations

from sqlmodel import Session, col, select

from dealpilot.core.errors import Conflict
from dealpilot.deals.lookup import get_or_404, get_referenced
from models import Brand, Suppression
from models.contact import SuppressionCreate


def add_suppression(session: Session, data: SuppressionCreate) -> Suppression:
    """Suppress an address for one brand only; other brands may still email it. 409
    `duplicate_suppression` when it already is."""
    get_referenced(session, Brand, data.brand_id, field="brand_id")
    exists = session.exec(
        select(Suppression.id).where(
            col(Suppression.brand_id) == data.brand_id, col(Suppression.email) == data.email
        )
    ).first()
    if exists is not None:
        raise Conflict(
            f"{data.email} is already suppressed for this brand", code="duplicate_suppression"
        )
    row = Suppression.model_validate(data)
    session.add(row)
    session.flush()
    return row


def remove_suppression(session: Session, suppression_id: int) -> Suppression:
    row = get_or_404(session, Suppression, suppression_id, what="Suppression")
    session.delete(row)
    session.flush()
    return row
