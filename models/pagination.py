"""The page shape of every list that can grow: items, total, limit, offset."""

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


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    page: PageParams,
    to_public: Callable[[Any], T],
) -> Page[T]:
    """Count the filtered rows in SQL, then fetch one page of them (stmt carries the order)."""
    total = session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar_one()
    rows: Sequence[Any] = session.execute(stmt.limit(page.limit).offset(page.offset)).all()
    items = [to_public(row[0] if len(row) == 1 else row) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
