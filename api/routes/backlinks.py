from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from sqlmodel import Session, col, select

from api.deps import PageDep, SessionDep
from api.errors import ErrorDetail, Unprocessable
from api.pagination import Page, paginate
from api.routing import CRMRouter
from api.services.lookup import get_or_404, get_referenced, resolve_brand_id
from api.services.updates import apply_update
from models import BacklinkOpportunity, BacklinkStatus, Brand, Contact, Deal, Pipeline
from models.backlink import (
    BacklinkOpportunityCreate,
    BacklinkOpportunityPublic,
    BacklinkOpportunityUpdate,
)

router = CRMRouter(prefix="/backlinks", tags=["backlinks"])


def _public(row: Any) -> BacklinkOpportunityPublic:
    return BacklinkOpportunityPublic.model_validate(row)


def _same_brand(
    session: Session, brand_id: int, contact_id: int | None, deal_id: int | None
) -> None:
    """Brands are isolated: an opportunity may only point at its own brand's rows."""
    if contact_id is not None:
        contact = get_referenced(session, Contact, contact_id, field="contact_id")
        if contact.brand_id != brand_id:
            raise Unprocessable(
                "The contact belongs to another brand",
                code="brand_mismatch",
                details=[ErrorDetail(field="contact_id", problem="contact of another brand")],
            )
    if deal_id is not None:
        deal = get_referenced(session, Deal, deal_id, field="deal_id")
        pipeline = session.get(Pipeline, deal.pipeline_id)
        if pipeline is None or pipeline.brand_id != brand_id:
            raise Unprocessable(
                "The deal belongs to another brand",
                code="brand_mismatch",
                details=[ErrorDetail(field="deal_id", problem="deal of another brand")],
            )


@router.get("/", response_model=Page[BacklinkOpportunityPublic])
def list_backlinks(
    session: SessionDep,
    page: PageDep,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    status: BacklinkStatus | None = None,
) -> Page[BacklinkOpportunityPublic]:
    stmt = select(BacklinkOpportunity).order_by(col(BacklinkOpportunity.id).desc())
    brand_id = resolve_brand_id(session, brand)
    if brand_id is not None:
        stmt = stmt.where(col(BacklinkOpportunity.brand_id) == brand_id)
    if status is not None:
        stmt = stmt.where(col(BacklinkOpportunity.status) == status)
    return paginate(session, stmt, page, _public)


@router.post("/", response_model=BacklinkOpportunityPublic, status_code=201)
def create_backlink(
    data: BacklinkOpportunityCreate, session: SessionDep
) -> BacklinkOpportunityPublic:
    get_referenced(session, Brand, data.brand_id, field="brand_id")
    _same_brand(session, data.brand_id, data.contact_id, data.deal_id)
    row = BacklinkOpportunity.model_validate(data)
    session.add(row)
    session.flush()
    return _public(row)


@router.get("/{backlink_id}/", response_model=BacklinkOpportunityPublic)
def get_backlink(backlink_id: int, session: SessionDep) -> BacklinkOpportunityPublic:
    return _public(
        get_or_404(session, BacklinkOpportunity, backlink_id, what="Backlink opportunity")
    )


@router.patch("/{backlink_id}/", response_model=BacklinkOpportunityPublic)
def update_backlink(
    backlink_id: int, data: BacklinkOpportunityUpdate, session: SessionDep
) -> BacklinkOpportunityPublic:
    row = get_or_404(session, BacklinkOpportunity, backlink_id, what="Backlink opportunity")
    _same_brand(session, row.brand_id, data.contact_id, data.deal_id)
    apply_update(
        row,
        data,
        nullable={
            "domain_authority",
            "relevance_score",
            "contact_id",
            "deal_id",
            "link_rel",
            "verified_at",
        },
    )
    session.add(row)
    session.flush()
    return _public(row)
