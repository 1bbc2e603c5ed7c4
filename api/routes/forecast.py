"""The campaign forecast (issue 14, item 13): when each email of a pipeline's sequence would go
for a list of contacts if enrolled now, and a brand's running deals' expected sends per day.
Nothing is stored, nothing sent (`dealpilot.deals.forecast`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.routing import CRMRouter
from dealpilot.core.enums import EngagementTier
from dealpilot.core.errors import NotFound
from dealpilot.deals import forecast
from models import utcnow
from models.brand import find_brand
from models.types import MAX_ID

router = CRMRouter(prefix="/forecast", tags=["forecast"])
MAX_CONTACTS = 5000


class ForecastRequest(BaseModel):
    pipeline_id: int = Field(ge=1, le=MAX_ID)
    contact_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=MAX_CONTACTS
    )
    start_at: datetime | None = None  # default now; must carry a zone
    # None: silent contacts (tiers from their sends, as the rules compute them); else kept.
    tier: EngagementTier | None = None


class PlannedEmailPublic(BaseModel):
    deal_id: int
    contact_email: str
    stage_id: int
    stage_name: str
    at: datetime
    local: str
    held_by: list[str]


class DayLoadPublic(BaseModel):
    day: date
    running: int
    new: int
    cap: int


class ForecastPublic(BaseModel):
    brand: str
    start: datetime
    paused_reason: str
    emails: list[PlannedEmailPublic]
    days: list[DayLoadPublic]


def _public(f: forecast.Forecast) -> ForecastPublic:
    return ForecastPublic(
        brand=f.brand,
        start=f.start,
        paused_reason=f.paused_reason,
        emails=[PlannedEmailPublic(**vars(e)) for e in f.emails],
        days=[DayLoadPublic(**vars(d)) for d in f.days],
    )


@router.post("/", response_model=ForecastPublic)
def forecast_enrolment(data: ForecastRequest, session: SessionDep) -> ForecastPublic:
    """Before enrolling `contact_ids` into the pipeline: each email's time (UTC and local), what
    held it (window, cap, gap), and the brand's sends per day, running deals included."""
    start = data.start_at or utcnow()
    if start.tzinfo is None:
        start = start.replace(tzinfo=utcnow().tzinfo)
    result = forecast.forecast_list(
        session, data.pipeline_id, data.contact_ids, start=start, tier=data.tier
    )
    return _public(result)


@router.get("/running/", response_model=ForecastPublic)
def forecast_running(
    session: SessionDep, brand: Annotated[str, Query(min_length=1, max_length=64)]
) -> ForecastPublic:
    """The brand's (id or slug) running deals: expected sends per day for the next 14 days."""
    row = find_brand(session, brand)
    if row is None:
        raise NotFound(f"Brand {brand} does not exist")
    return _public(forecast.forecast_running(session, row, start=utcnow()))
