from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Query, Request
from sqlmodel import col

from api.deps import AfterCommitDep, PageDep, SessionDep
from api.hooks import on_deal_created
from api.pagination import Page, paginate
from api.routing import CRMRouter
from api.services import deals as service
from api.services.lookup import get_or_404, resolve_brand_id
from models import Deal, DealStatus, EngagementTier, Pipeline
from models.deal import DealCreate, DealMoveStage, DealPublic, DealUpdate

router = CRMRouter(prefix="/deals", tags=["deals"])


@router.get("/", response_model=Page[DealPublic])
def list_deals(
    session: SessionDep,
    page: PageDep,
    pipeline: int | None = None,
    stage: int | None = None,
    status: DealStatus | None = None,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    tier: Annotated[EngagementTier | None, Query(description="Engagement tier")] = None,
    contact: int | None = None,
) -> Page[DealPublic]:
    stmt = service.deal_rows()
    brand_id = resolve_brand_id(session, brand)
    if brand_id is not None:
        stmt = stmt.where(col(Pipeline.brand_id) == brand_id)
    if pipeline is not None:
        stmt = stmt.where(col(Deal.pipeline_id) == pipeline)
    if stage is not None:
        stmt = stmt.where(col(Deal.stage_id) == stage)
    if status is not None:
        stmt = stmt.where(col(Deal.status) == status)
    if tier is not None:
        stmt = stmt.where(col(Deal.engagement_tier) == tier)
    if contact is not None:
        stmt = stmt.where(col(Deal.contact_id) == contact)
    stmt = stmt.order_by(col(Deal.created_at).desc(), col(Deal.id).desc())
    return paginate(session, stmt, page, service.to_public)


@router.post("/", response_model=DealPublic, status_code=201)
def create_deal(
    request: Request, data: DealCreate, session: SessionDep, after_commit: AfterCommitDep
) -> DealPublic:
    deal = service.create_deal(session, data)
    assert deal.id is not None
    # Hook point: runs only after this request's commit (start the deal workflow there).
    after_commit.add(partial(on_deal_created, request.app, deal.id))
    return service.get_deal_public(session, deal.id)


@router.get("/{deal_id}/", response_model=DealPublic)
def get_deal(deal_id: int, session: SessionDep) -> DealPublic:
    return service.get_deal_public(session, deal_id)


@router.patch("/{deal_id}/", response_model=DealPublic)
def update_deal(deal_id: int, data: DealUpdate, session: SessionDep) -> DealPublic:
    deal = get_or_404(session, Deal, deal_id, what="Deal")
    service.update_deal(session, deal, data)
    return service.get_deal_public(session, deal_id)


@router.post("/{deal_id}/move-stage/", response_model=DealPublic)
def move_stage(deal_id: int, data: DealMoveStage, session: SessionDep) -> DealPublic:
    deal = get_or_404(session, Deal, deal_id, what="Deal")
    service.move_deal(session, deal, stage_id=data.stage_id, slug=data.stage)
    return service.get_deal_public(session, deal_id)
