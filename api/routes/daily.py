"""GET /api/crm/stats/daily/: the daily review's summaries (latest per brand, or one day)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel
from sqlmodel import col, select

from api.deps import SessionDep
from api.routing import CRMRouter
from dealpilot.deals.lookup import resolve_brand_id
from models import Brand, DailySummary

router = CRMRouter(prefix="/stats/daily", tags=["stats"])


class DailySummaryPublic(BaseModel):
    id: int
    brand_id: int
    brand_slug: str
    day: date
    created_at: datetime
    data: dict[str, Any]


@router.get("/", response_model=list[DailySummaryPublic])
def daily_summaries(
    session: SessionDep,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    day: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD (brand's day)")] = None,
) -> list[DailySummaryPublic]:
    """Each brand's latest daily summary, or every brand's summary of `date`."""
    brand_id = resolve_brand_id(session, brand)
    stmt = (
        select(DailySummary, Brand.slug)
        .join(Brand, col(Brand.id) == col(DailySummary.brand_id))
        .order_by(col(Brand.slug), col(DailySummary.day).desc(), col(DailySummary.id).desc())
    )
    if brand_id is not None:
        stmt = stmt.where(col(DailySummary.brand_id) == brand_id)
    if day is not None:
        stmt = stmt.where(col(DailySummary.day) == day)
    latest: dict[int, DailySummaryPublic] = {}
    for row, slug in session.exec(stmt).all():
        if row.brand_id in latest:
            continue
        assert row.id is not None
        latest[row.brand_id] = DailySummaryPublic(
            id=row.id,
            brand_id=row.brand_id,
            brand_slug=slug,
            day=row.day,
            created_at=row.created_at,
            data=row.data,
        )
    return list(latest.values())
