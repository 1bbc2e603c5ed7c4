"""Tables the scheduled jobs keep: where each inbox poll stopped, and the daily summaries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class InboxCursor(SQLModel, table=True):
    """How far one mailbox has been read (IMAP UIDVALIDITY + last UID, or Zoho's received
    time): saved in the same transaction as the events recorded from it."""

    source: str = Field(primary_key=True, max_length=300)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DailySummary(SQLModel, table=True):
    """One brand's daily review; a rerun on the same day replaces the day's row."""

    __table_args__ = (UniqueConstraint("brand_id", "day", name="uq_daily_summary_brand_day"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    day: date = Field(index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
