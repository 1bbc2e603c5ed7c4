"""Backlink opportunities for the console: the user's brands, filterable by status, paged."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from dealpilot.accounts import BrandScope
from models import BacklinkOpportunity, Brand
from models.pagination import Page, PageParams, paginate


def opportunities(
    session: Session, scope: BrandScope, page: PageParams, *, status: str = ""
) -> Page[tuple[BacklinkOpportunity, str]]:
    stmt: Any = (
        select(BacklinkOpportunity, Brand.slug)
        .join(Brand, col(Brand.id) == col(BacklinkOpportunity.brand_id))
        .where(scope.condition(BacklinkOpportunity.brand_id))
        .order_by(col(BacklinkOpportunity.created_at).desc(), col(BacklinkOpportunity.id).desc())
    )
    if status:
        stmt = stmt.where(col(BacklinkOpportunity.status) == status)
    return paginate(session, stmt, page, lambda r: (r[0], r[1]))
