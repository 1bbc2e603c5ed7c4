"""Backlink opportunities for the console: the user's brands, filterable by brand and status,
paged; and the check that every opportunity a form names is one of the user's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from dealpilot.accounts import BrandScope
from dealpilot.core.errors import NotFound
from models import BacklinkOpportunity, Brand
from models.pagination import Page, PageParams, paginate


def opportunities(
    session: Session, scope: BrandScope, page: PageParams, *, status: str = "", brand: str = ""
) -> Page[tuple[BacklinkOpportunity, str]]:
    stmt: Any = (
        select(BacklinkOpportunity, Brand.slug)
        .join(Brand, col(Brand.id) == col(BacklinkOpportunity.brand_id))
        .where(scope.condition(BacklinkOpportunity.brand_id))
        .order_by(col(BacklinkOpportunity.created_at).desc(), col(BacklinkOpportunity.id).desc())
    )
    if status:
        stmt = stmt.where(col(BacklinkOpportunity.status) == status)
    if brand:
        stmt = stmt.where(col(Brand.slug) == brand)
    return paginate(session, stmt, page, lambda r: (r[0], r[1]))


def scoped_ids(session: Session, scope: BrandScope, ids: Sequence[int]) -> list[int]:
    """`ids` without repeats, in order, if every one is an opportunity of the user's brands;
    otherwise a 404, as for one that does not exist (one query)."""
    wanted = list(dict.fromkeys(ids))
    found = set(
        session.exec(
            select(BacklinkOpportunity.id).where(
                col(BacklinkOpportunity.id).in_(wanted),
                scope.condition(BacklinkOpportunity.brand_id),
            )
        ).all()
    )
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(f"Backlink opportunity {missing[0]} not found")
    return wanted
