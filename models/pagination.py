"""The page shape of every list that can grow: items, total, limit, offset.

`total` is counted up to `COUNT_CAP` rows: past it, counting every match of a filter over a
million email logs would cost more than the page itself (the API at production size,
bench/api_scale.py). Then `total` is the cap and `total_exact` is false; paging on with
`offset` works the same either way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.sql import Select
from sqlmodel import Session

T = TypeVar("T")


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


COUNT_CAP = 10_000


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    total_exact: bool = True


def paginate(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    page: PageParams,
    to_public: Callable[[Any], T],
    *,
    counted: Select[*tuple[Any, ...]] | None = None,
    cap: int = COUNT_CAP,
) -> Page[T]:
    """Count the filtered rows in SQL (up to COUNT_CAP), then fetch one page of them (stmt
    carries the order). `counted`: a lighter statement selecting the same rows, to count
    (without the joins that only name things on the page)."""
    to_count = stmt.order_by(None) if counted is None else counted
    counted_rows = to_count.limit(cap + 1).subquery()
    total = session.execute(select(func.count()).select_from(counted_rows)).scalar_one()
    rows: Sequence[Any] = session.execute(stmt.limit(page.limit).offset(page.offset)).all()
    items = [to_public(row[0] if len(row) == 1 else row) for row in rows]
    return Page(
        items=items,
        total=min(total, cap),
        limit=page.limit,
        offset=page.offset,
        total_exact=total <= cap,
    )
