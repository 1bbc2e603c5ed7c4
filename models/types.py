"""Column types shared by every table: UTC timestamps. (The tables' enums live in
dealpilot.core.enums, which workflows import too; `models` re-exports them.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from annotated_types import Ge, Le
from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.engine import Dialect

# The largest id or count the databases store (a signed 64-bit integer): schemas bound ids
# and numbers by it, so a larger one is a 422 rather than a driver overflow.
MAX_ID = 2**63 - 1
# An id in a request body (pydantic field type).
Id = Annotated[int, Ge(1), Le(MAX_ID)]


def is_row_id(ref: str) -> bool:
    """Whether an operator's reference ("2" or "codeteki") names a row by id: ASCII digits only
    (`"²".isdigit()` is true, but int() refuses it), and short enough to fit a BIGINT."""
    return ref.isascii() and ref.isdigit() and len(ref) < 19


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, always hands back an aware UTC datetime (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)
