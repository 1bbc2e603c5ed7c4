from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from models.types import MailProviderName, UTCDateTime, utcnow


class BrandBase(SQLModel):
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    domain: str = Field(max_length=255)
    from_email: str = Field(max_length=320)
    from_name: str = Field(max_length=200)
    reply_to: str | None = Field(default=None, max_length=320)
    provider: MailProviderName = Field(
        default=MailProviderName.outbox, sa_column=Column(String(20), nullable=False)
    )
    timezone: str = Field(default="Australia/Sydney", max_length=64)
    # Send window in the brand's (or the contact's) local time; weekdays 0=Mon..6=Sun.
    send_window_start: time = Field(default=time(9, 0))
    send_window_end: time = Field(default=time(17, 0))
    send_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], sa_column=Column(JSON))
    daily_cap: int = Field(default=200, ge=0)
    min_gap_seconds: int = Field(default=30, ge=0)
    human_review: bool = False
    postal_address: str = Field(default="", max_length=500)
    website_url: str = Field(default="", max_length=500)
    is_active: bool = True


class Brand(BrandBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
