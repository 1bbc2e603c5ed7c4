from __future__ import annotations

from sqlmodel import col, select

from api.deps import IdPath, SessionDep
from api.routing import CRMRouter
from dealpilot.core.errors import Conflict
from dealpilot.deals import brands
from dealpilot.deals.lookup import get_or_404
from models import Brand
from models.brand import BrandCreate, BrandPublic, BrandUpdate

router = CRMRouter(prefix="/brands", tags=["brands"])


@router.get("/", response_model=list[BrandPublic])
def list_brands(session: SessionDep) -> list[BrandPublic]:
    rows = session.exec(select(Brand).order_by(col(Brand.id))).all()
    return [BrandPublic.model_validate(b) for b in rows]


@router.post("/", response_model=BrandPublic, status_code=201)
def create_brand(data: BrandCreate, session: SessionDep) -> BrandPublic:
    if session.exec(select(Brand.id).where(col(Brand.slug) == data.slug)).first() is not None:
        raise Conflict(f"A brand with slug {data.slug!r} exists", code="duplicate_brand")
    brand = Brand.model_validate(data)
    session.add(brand)
    session.flush()
    return BrandPublic.model_validate(brand)


@router.get("/{brand_id}/", response_model=BrandPublic)
def get_brand(brand_id: IdPath, session: SessionDep) -> BrandPublic:
    return BrandPublic.model_validate(get_or_404(session, Brand, brand_id, what="Brand"))


@router.patch("/{brand_id}/", response_model=BrandPublic)
def update_brand(brand_id: IdPath, data: BrandUpdate, session: SessionDep) -> BrandPublic:
    return BrandPublic.model_validate(brands.update_brand(session, brand_id, data))
