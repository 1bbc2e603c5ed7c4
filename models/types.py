"""Column types shared by every table: UTC timestamps and string-backed enums (the enums
live in dealpilot.core.enums, importable by workflows too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.engine import Dialect

from dealpilot.core.enums import (
    AutoAction,
    BacklinkStatus,
    ContactType,
    DealStatus,
    DraftKind,
    DraftStatus,
    EmailEventType,
    EmailStatus,
    EngagementTier,
    LinkCheck,
    MailProviderName,
    PipelineType,
    PromptType,
    StageKind,
    SuppressionReason,
)

__all__ = [
    "AutoAction",
    "BacklinkStatus",
    "ContactType",
    "DealStatus",
    "DraftKind",
    "DraftStatus",
    "EmailEventType",
    "EmailStatus",
    "EngagementTier",
    "LinkCheck",
    "MailProviderName",
    "PipelineType",
    "PromptType",
    "StageKind",
    "SuppressionReason",
    "UTCDateTime",
    "utcnow",
]


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
