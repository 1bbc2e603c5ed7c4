"""Inbound events as received, matched or not: unmatched ones (deal_id null) stay visible here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from sqlmodel import SQLModel, col, select

from api.deps import PageDep, SessionDep
from api.routing import CRMRouter
from dealpilot.deals.lookup import resolve_brand_id
from models import EmailEvent, EmailEventType
from models.pagination import Page, paginate
from models.types import MAX_ID

router = CRMRouter(prefix="/events", tags=["events"])


class EmailEventPublic(SQLModel):
    id: int
    event_type: EmailEventType
    source: str
    dedupe_key: str
    brand_id: int | None
    deal_id: int | None
    email_log_id: int | None
    email: str | None
    url: str | None
    is_bot: bool
    payload: dict[str, Any]
    occurred_at: datetime
    delivered_at: datetime | None
    created_at: datetime


@router.get("/", response_model=Page[EmailEventPublic])
def list_events(
    session: SessionDep,
    page: PageDep,
    unmatched: Annotated[bool | None, Query(description="true: only events with no deal")] = None,
    type: Annotated[EmailEventType | None, Query()] = None,  # noqa: A002 (the API's name)
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    deal: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Deal id")] = None,
    pending: Annotated[bool | None, Query(description="true: not yet delivered")] = None,
) -> Page[EmailEventPublic]:
    stmt = select(EmailEvent).order_by(col(EmailEvent.id).desc())
    if unmatched is not None:
        deal_col = col(EmailEvent.deal_id)
        # An event received a moment ago and not matched yet is not "unmatched" (yet).
        settled = col(EmailEvent.settled).is_(True)
        stmt = stmt.where(deal_col.is_(None) & settled if unmatched else deal_col.is_not(None))
    if type is not None:
        stmt = stmt.where(col(EmailEvent.event_type) == type)
    brand_id = resolve_brand_id(session, brand)
    if brand_id is not None:
        stmt = stmt.where(col(EmailEvent.brand_id) == brand_id)
    if deal is not None:
        stmt = stmt.where(col(EmailEvent.deal_id) == deal)
    if pending is not None:
        delivered = col(EmailEvent.delivered_at)
        stmt = stmt.where(delivered.is_(None) if pending else delivered.is_not(None))
    return paginate(session, stmt, page, EmailEventPublic.model_validate)
