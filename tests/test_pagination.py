"""List totals are counted up to a cap: past it, `total` is the cap and `total_exact` false."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models import Brand
from models.pagination import PageParams, paginate
from tests.factories import make_brand


def test_totals_past_the_cap_are_marked_inexact(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        for slug in ("a", "b", "c", "d"):
            make_brand(s, slug=slug)
        stmt = select(Brand).order_by(col(Brand.slug))
        page = PageParams(limit=2, offset=2)
        within = paginate(s, stmt, page, lambda b: b.slug, cap=4)
        past = paginate(s, stmt, page, lambda b: b.slug, cap=3)
    assert (within.items, within.total, within.total_exact) == (["c", "d"], 4, True)
    assert (past.items, past.total, past.total_exact) == (["c", "d"], 3, False)
