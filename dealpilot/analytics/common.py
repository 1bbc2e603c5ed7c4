"""Shapes and SQL pieces every analytics section shares."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Date, cast, func
from sqlmodel import Session

from dealpilot.analytics.filters import Filters


class Applied(BaseModel):
    """The filters a result was computed with (whole UTC days, `date_to` inclusive)."""

    date_from: date
    date_to: date
    brand_ids: list[int]
    pipeline_id: int | None

    @classmethod
    def of(cls, filters: Filters) -> Applied:
        return cls(
            date_from=filters.start,
            date_to=filters.end,
            brand_ids=list(filters.brand_ids),
            pipeline_id=filters.pipeline_id,
        )


def day_of(session: Session, column: Any) -> Any:
    """The UTC day of a timestamp column (stored naive UTC on both databases)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(column, Date)
    return func.date(column)


def as_day(value: Any) -> date:
    """SQLite hands back 'YYYY-MM-DD', PostgreSQL a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
