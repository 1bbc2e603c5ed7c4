from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from sqlmodel import col, select

from api.deps import IdPath, PageDep, SessionDep
from api.routing import CRMRouter
from dealpilot.deals.lookup import get_or_404, resolve_brand_id
from models import AIDecisionLog, Deal
from models.ai import AIDecisionLogPublic
from models.pagination import Page, paginate

router = CRMRouter(prefix="/ai-activity", tags=["ai activity"])


def _public(row: Any) -> AIDecisionLogPublic:
    return AIDecisionLogPublic.from_row(row)


def _recent_first() -> Any:
    return select(AIDecisionLog).order_by(
        col(AIDecisionLog.created_at).desc(), col(AIDecisionLog.id).desc()
    )


@router.get("/", response_model=Page[AIDecisionLogPublic])
def recent_decisions(
    session: SessionDep,
    page: PageDep,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    decision_type: Annotated[str | None, Query(max_length=50)] = None,
) -> Page[AIDecisionLogPublic]:
    stmt = _recent_first()
    brand_id = resolve_brand_id(session, brand)
    if brand_id is not None:
        stmt = stmt.where(col(AIDecisionLog.brand_id) == brand_id)
    if decision_type is not None:
        stmt = stmt.where(col(AIDecisionLog.decision_type) == decision_type)
    return paginate(session, stmt, page, _public)


@router.get("/{deal_id}/", response_model=Page[AIDecisionLogPublic])
def deal_decisions(
    deal_id: IdPath, session: SessionDep, page: PageDep
) -> Page[AIDecisionLogPublic]:
    get_or_404(session, Deal, deal_id, what="Deal")
    stmt = _recent_first().where(col(AIDecisionLog.deal_id) == deal_id)
    return paginate(session, stmt, page, _public)
