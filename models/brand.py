from __future__ import annotations

from datetime import datetime, time
from functools import lru_cache
from zoneinfo import available_timezones

from pydantic import field_validator, model_validator
from sqlalchemy import JSON, Column, String
from sqlmodel import Field, Session, SQLModel, select

from dealpilot.core.enums import MailProviderName
from models.types import UTCDateTime, utcnow


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


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(value: str | None) -> str | None:
    """Pydantic validator body: the name must be a real IANA zone ("Australia/Sydney")."""
    if value is not None and value not in _iana_zones():
        raise ValueError(f"{value!r} is not an IANA time zone")
    return value


def check_send_days(value: list[int] | None) -> list[int] | None:
    if value is None:
        return None
    if any(day < 0 or day > 6 for day in value):
        raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
    return sorted(set(value))


class BrandCreate(BrandBase):
    _tz = field_validator("timezone")(check_timezone)
    _days = field_validator("send_days")(check_send_days)

    @model_validator(mode="after")
    def _window_order(self) -> BrandCreate:
        if self.send_window_start >= self.send_window_end:
            raise ValueError("send_window_start must be before send_window_end")
        return self


class BrandUpdate(SQLModel):
    name: str | None = Field(default=None, max_length=200)
    domain: str | None = Field(default=None, max_length=255)
    from_email: str | None = Field(default=None, max_length=320)
    from_name: str | None = Field(default=None, max_length=200)
    reply_to: str | None = Field(default=None, max_length=320)
    provider: MailProviderName | None = None
    timezone: str | None = Field(default=None, max_length=64)
    send_window_start: time | None = None
    send_window_end: time | None = None
    send_days: list[int] | None = None
    daily_cap: int | None = Field(default=None, ge=0)
    min_gap_seconds: int | None = Field(default=None, ge=0)
    human_review: bool | None = None
    postal_address: str | None = Field(default=None, max_length=500)
    website_url: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None

    _tz = field_validator("timezone")(check_timezone)
    _days = field_validator("send_days")(check_send_days)


class BrandPublic(BrandBase):
    id: int
    created_at: datetime


def find_brand(session: Session, ref: str) -> Brand | None:
    """A brand named by id ("2") or slug ("codeteki"), as operators and requests name them."""
    ref = ref.strip()
    if ref.isdigit() and len(ref) < 19:  # longer cannot be a row id (nor fit a BIGINT)
        return session.get(Brand, int(ref))
    return session.exec(select(Brand).where(Brand.slug == ref)).first()
