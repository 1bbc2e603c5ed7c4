"""List totals are counted up to a cap: past it, `total` is the cap and `total_exact` false.
Lists ordered newest first page by key as well (`next_after`, `?after=`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dealpilot.core.errors import Unprocessable
from models import Brand
from models.pagination import Keyset, PageParams, encode_cursor, paginate
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


def _brands_created(s: Session, stamps: list[datetime]) -> list[int]:
    ids = []
    for i, stamp in enumerate(stamps):
        brand = make_brand(s, slug=f"k{i}")
        brand.created_at = stamp
        s.add(brand)
        ids.append(brand.id or 0)
    s.flush()
    return ids


def test_pages_by_key_follow_the_offset_order_through_ties(any_engine: Engine) -> None:
    """Newest first by (created_at, id); rows with the same created_at are split by id, so
    following `next_after` gives every row once, in the same order as offset paging."""
    noon = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    stamps = [noon, noon, noon - timedelta(seconds=1), noon + timedelta(seconds=1), noon, noon]
    with Session(any_engine) as s:
        _brands_created(s, stamps + [noon - timedelta(days=1)])
        stmt = select(Brand).order_by(col(Brand.created_at).desc(), col(Brand.id).desc())
        everything = paginate(s, stmt, PageParams(limit=100, offset=0), lambda b: b.id)
        seen, after, pages = [], None, 0
        while True:
            page = paginate(
                s, stmt, PageParams(limit=3, offset=0, after=after), lambda b: b.id,
                keyset=Keyset(Brand),
            )  # fmt: skip
            seen += page.items
            pages += 1
            assert page.total == len(everything.items)  # the filter's total, on every page
            if page.next_after is None:
                break
            after = page.next_after
    assert seen == everything.items
    assert len(seen) == 7
    assert pages == 3  # 3 + 3 + 1: the last, short page carries no cursor


def test_a_bad_cursor_is_refused_not_an_error(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        stmt = select(Brand).order_by(col(Brand.created_at).desc(), col(Brand.id).desc())
        for after, offset in (("not-a-cursor", 0), ("", 0), ("é", 0), (encode_cursor(
            datetime(2026, 1, 1, tzinfo=UTC), 5), 10)):  # fmt: skip
            with pytest.raises(Unprocessable) as caught:
                paginate(s, stmt, PageParams(limit=2, offset=offset, after=after), str,
                         keyset=Keyset(Brand))  # fmt: skip
            assert caught.value.code == "invalid_cursor"
        with pytest.raises(Unprocessable, match="does not page by"):
            paginate(s, stmt, PageParams(limit=2, offset=0, after=encode_cursor(
                datetime(2026, 1, 1, tzinfo=UTC), 5)), str)  # fmt: skip
