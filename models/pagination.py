"""The page shape of every list that can grow: items, total, limit, offset, next_after.

`total` is counted up to `COUNT_CAP` rows: past it, counting every match of a filter over a
million email logs would cost more than the page itself (the API at production size,
bench/api_scale.py). Then `total` is the cap and `total_exact` is false; paging on with
`offset` works the same either way.

Lists ordered newest first by `(created_at, id)` also page by key: each full page carries
`next_after`, an opaque cursor; `?after=<cursor>` returns the rows after it, found through the
`(…, created_at, id)` indexes however deep the page (an offset of 20,000 reads and skips
20,000 rows: 160 ms p95 at 100,000 deals, against a first page's 50)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select, tuple_
from sqlalchemy.sql import Select
from sqlmodel import Session

from dealpilot.core.errors import Unprocessable

T = TypeVar("T")


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int
    after: str | None = None  # a `next_after` cursor (lists ordered by created_at, id)


COUNT_CAP = 10_000


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    total_exact: bool = True
    next_after: str | None = None  # `?after=` for the next page; None on the last page


@dataclass(frozen=True)
class Keyset:
    """A list of `entity` rows (the first column of each row) ordered newest first by the
    entity's `created_at DESC, id DESC`, which can therefore page by key."""

    entity: type[Any]


def encode_cursor(created_at: datetime, row_id: int) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """A cursor this module made, else 422 `invalid_cursor` (never a 500)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, row_id = raw.partition("|")
        return datetime.fromisoformat(stamp), int(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise Unprocessable(
            "`after` is not a cursor from `next_after`", code="invalid_cursor"
        ) from exc


def paginate(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    page: PageParams,
    to_public: Callable[[Any], T],
    *,
    counted: Select[*tuple[Any, ...]] | None = None,
    cap: int = COUNT_CAP,
    keyset: Keyset | None = None,
) -> Page[T]:
    """Count the filtered rows in SQL (up to COUNT_CAP), then fetch one page of them (stmt
    carries the order). `counted`: a lighter statement selecting the same rows, to count
    (without the joins that only name things on the page). `keyset`: the list is ordered by
    it, newest first, so it pages by `page.after` too (the total stays the filter's)."""
    to_count = stmt.order_by(None) if counted is None else counted
    counted_rows = to_count.limit(cap + 1).subquery()
    total = session.execute(select(func.count()).select_from(counted_rows)).scalar_one()
    if page.after is not None:
        if keyset is None:
            raise Unprocessable("This list does not page by `after`", code="invalid_cursor")
        if page.offset:
            raise Unprocessable("Give `after` or `offset`, not both", code="invalid_cursor")
        stamp, row_id = decode_cursor(page.after)
        key = tuple_(keyset.entity.created_at, keyset.entity.id)
        stmt = stmt.where(key < tuple_(stamp, row_id))
    rows: Sequence[Any] = session.execute(stmt.limit(page.limit).offset(page.offset)).all()
    items = [to_public(row[0] if len(row) == 1 else row) for row in rows]
    next_after = None
    if keyset is not None and rows and len(rows) == page.limit:
        last = rows[-1][0]
        next_after = encode_cursor(last.created_at, last.id)
    return Page(
        items=items,
        total=min(total, cap),
        limit=page.limit,
        offset=page.offset,
        total_exact=total <= cap,
        next_after=next_after,
    )
