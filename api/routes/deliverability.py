"""A brand's deliverability and warm-up (issue 14, items 8 and 9): the guard's rolling rates
per brand and per recipient domain, whether sending is paused and why, the warm-up's cap and
progress; a person resumes a paused brand here, or restarts the warm-up (a new domain)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from api.deps import IdPath, SessionDep
from api.routing import CRMRouter
from dealpilot.deals import deliverability, warmup
from dealpilot.deals.lookup import get_or_404
from models import Brand, utcnow

router = CRMRouter(prefix="/brands", tags=["deliverability"])


class RatesPublic(BaseModel):
    scope: str
    sends: int
    bounces: int
    complaints: int
    unsubscribes: int
    bounce_rate: float
    complaint_rate: float
    unsubscribe_rate: float


class WarmupPublic(BaseModel):
    enabled: bool
    started_on: date | None
    level: int
    cap: int
    target: int
    done: bool
    progress_percent: int


class DeliverabilityPublic(BaseModel):
    brand: str
    brand_id: int
    paused: bool
    paused_at: datetime | None
    paused_reason: str
    window_days: int
    bounce_limit: float
    bounce_min_sends: int
    complaint_limit: float
    rates: RatesPublic
    domains: list[RatesPublic]
    warmup: WarmupPublic


def _rates(r: deliverability.Rates) -> RatesPublic:
    return RatesPublic(**r.figures())


def _public(h: deliverability.BrandHealth) -> DeliverabilityPublic:
    return DeliverabilityPublic(
        brand=h.brand,
        brand_id=h.brand_id,
        paused=h.paused_at is not None,
        paused_at=h.paused_at,
        paused_reason=h.paused_reason,
        window_days=deliverability.RATE_WINDOW.days,
        bounce_limit=deliverability.BOUNCE_LIMIT,
        bounce_min_sends=deliverability.BOUNCE_MIN_SENDS,
        complaint_limit=deliverability.COMPLAINT_LIMIT,
        rates=_rates(h.rates),
        domains=[_rates(d) for d in h.domains],
        warmup=WarmupPublic(**vars(h.warmup)),
    )


@router.get("/{brand_id}/deliverability/", response_model=DeliverabilityPublic)
def get_deliverability(brand_id: IdPath, session: SessionDep) -> DeliverabilityPublic:
    brand = get_or_404(session, Brand, brand_id, what="Brand")
    return _public(deliverability.health(session, brand, utcnow()))


@router.post("/{brand_id}/resume-sending/", response_model=DeliverabilityPublic)
def resume_sending(brand_id: IdPath, session: SessionDep) -> DeliverabilityPublic:
    """409 `not_paused` when the brand's sending is not paused."""
    brand = get_or_404(session, Brand, brand_id, what="Brand")
    now = utcnow()
    deliverability.resume(session, brand, now, by="api")
    return _public(deliverability.health(session, brand, now))


@router.post("/{brand_id}/warmup/restart/", response_model=DeliverabilityPublic)
def restart_warmup(brand_id: IdPath, session: SessionDep) -> DeliverabilityPublic:
    """Turns warm-up on and starts the ramp again from its start cap today (a new domain)."""
    brand = get_or_404(session, Brand, brand_id, what="Brand")
    now = utcnow()
    warmup.restart(session, brand, now)
    return _public(deliverability.health(session, brand, now))
