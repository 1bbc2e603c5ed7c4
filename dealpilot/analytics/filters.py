"""What every analytics figure is narrowed by: a date range of whole UTC days, the brands
(never beyond the caller's `BrandScope`) and optionally one pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from dealpilot.accounts.scope import BrandScope
from dealpilot.core.errors import ErrorDetail, NotFound, Unprocessable
from models import Brand, Pipeline, find_brand

DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years: a longer range is a typo, not a question


@dataclass(frozen=True)
class Filters:
    start: date  # first day counted (UTC)
    end: date  # last day counted, inclusive
    brand_ids: tuple[int, ...]
    pipeline_id: int | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=UTC)

    def query(self) -> dict[str, str]:
        """The filters as query parameters (links, CSV exports)."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.pipeline_id is not None:
            params["pipeline"] = str(self.pipeline_id)
        return params


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Unprocessable(
            f"{field!r} is not a date (YYYY-MM-DD): {value[:40]!r}",
            code="invalid_date",
            details=[ErrorDetail(field=field, problem="not a date (YYYY-MM-DD)")],
        ) from None


def resolve(
    session: Session,
    scope: BrandScope,
    *,
    start: str | None,
    end: str | None,
    brand: str | None,
    pipeline: int | None,
    today: date,
) -> Filters:
    """Parse and check the filters. Without dates: the last 30 days up to today. A brand or a
    pipeline the caller may not see is a 404, as if it did not exist."""
    last = _day(end, "to") if end else today
    first = _day(start, "from") if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise Unprocessable(
            f"'from' ({first}) is after 'to' ({last})",
            code="invalid_range",
            details=[ErrorDetail(field="from", problem="after 'to'")],
        )
    if (last - first).days >= MAX_DAYS:
        raise Unprocessable(
            f"the range is longer than {MAX_DAYS} days",
            code="invalid_range",
            details=[ErrorDetail(field="from", problem=f"more than {MAX_DAYS} days before 'to'")],
        )
    if brand:
        found = find_brand(session, brand)
        if found is None or found.id is None or not scope.allows(found.id):
            raise NotFound(f"No brand {brand[:80]!r}", code="unknown_brand")
        brand_ids: tuple[int, ...] = (found.id,)
    else:
        ids = session.exec(select(Brand.id).where(scope.condition(col(Brand.id)))).all()
        brand_ids = tuple(sorted(i for i in ids if i is not None))
    if pipeline is not None:
        row = session.get(Pipeline, pipeline)
        if row is None or row.brand_id not in brand_ids:
            raise NotFound(f"No pipeline {pipeline}", code="unknown_pipeline")
        brand_ids = (row.brand_id,)  # a pipeline's figures are its brand's
    return Filters(start=first, end=last, brand_ids=brand_ids, pipeline_id=pipeline)


def pipelines(session: Session, filters: Filters) -> list[Pipeline]:
    """The pipelines the figures cover, by brand then id."""
    stmt = select(Pipeline).where(col(Pipeline.brand_id).in_(filters.brand_ids))
    if filters.pipeline_id is not None:
        stmt = stmt.where(col(Pipeline.id) == filters.pipeline_id)
    return list(session.exec(stmt.order_by(col(Pipeline.brand_id), col(Pipeline.id))).all())


def rate(part: int, whole: int) -> float:
    """A fraction of `whole` (0.0-1.0, four decimals); 0.0 of nothing."""
    return round(part / whole, 4) if whole else 0.0
