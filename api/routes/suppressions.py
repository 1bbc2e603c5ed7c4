from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response
from sqlmodel import col, select

from api.deps import IdPath, PageDep, SessionDep
from api.routing import CRMRouter
from dealpilot.contacts import suppressions
from dealpilot.deals.lookup import resolve_brand_id
from models import Suppression
from models.contact import SuppressionCreate, SuppressionPublic
from models.pagination import Page, paginate

router = CRMRouter(prefix="/suppressions", tags=["suppressions"])


@router.get("/", response_model=Page[SuppressionPublic])
def list_suppressions(
    session: SessionDep,
    page: PageDep,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
) -> Page[SuppressionPublic]:
    stmt = select(Suppression).order_by(col(Suppression.id).desc())
    brand_id = resolve_brand_id(session, brand)
    if brand_id is not None:
        stmt = stmt.where(col(Suppression.brand_id) == brand_id)
    if email is not None:
        stmt = stmt.where(col(Suppression.email) == email.strip().lower())
    return paginate(session, stmt, page, SuppressionPublic.model_validate)


@router.post("/", response_model=SuppressionPublic, status_code=201)
def create_suppression(data: SuppressionCreate, session: SessionDep) -> SuppressionPublic:
    """Suppress an address for one brand only; other brands may still email it."""
    return SuppressionPublic.model_validate(suppressions.add_suppression(session, data))


@router.delete("/{suppression_id}/", status_code=204, response_class=Response)
def delete_suppression(suppression_id: IdPath, session: SessionDep) -> Response:
    suppressions.remove_suppression(session, suppression_id)
    return Response(status_code=204)
