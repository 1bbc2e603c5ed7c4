from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from pydantic import field_validator, model_validator
from sqlalchemy import JSON, Column, String
from sqlmodel import Field, Session, SQLModel, select

from dealpilot.core.enums import MailProviderName
from models.types import UTCDateTime, is_row_id, utcnow

MAX_DAILY_CAP = 1_000_000
MAX_GAP_SECONDS = 86_400  # a day
_HOSTNAME = re.compile(
    r"(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\Z",
    re.IGNORECASE,
)


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
    daily_cap: int = Field(default=200, ge=1, le=MAX_DAILY_CAP)
    min_gap_seconds: int = Field(default=30, ge=0, le=MAX_GAP_SECONDS)
    human_review: bool = False
    postal_address: str = Field(default="", max_length=500)
    website_url: str = Field(default="", max_length=500)
    is_active: bool = True
    # The brief every AI-written email gets: how the brand sounds and what it offers.
    voice: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=1000)
    # Warm-up (dealpilot.deals.warmup): the daily cap ramps from `warmup_start_cap`, growing by
    # `warmup_increase_percent` per sending day, up to `daily_cap`.
    warmup_enabled: bool = False
    warmup_start_cap: int = Field(default=20, ge=1, le=MAX_DAILY_CAP)
    warmup_increase_percent: int = Field(default=50, ge=1, le=1000)


class BrandSendingState(SQLModel):
    """Written by sending itself and by people resuming it, never by a brand's create/update."""

    # The deliverability guard (dealpilot.deals.deliverability): set when sending paused itself.
    sending_paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sending_paused_reason: str = Field(default="", max_length=500)
    # The last resume by a person: the guard's rolling rates count from here on.
    sending_resumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Warm-up progress: the step reached (0: the start cap) and the local day it was set on.
    warmup_started_on: date | None = None
    warmup_level: int = 0
    warmup_level_on: date | None = None


class Brand(BrandBase, BrandSendingState, table=True):
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


def check_domain(value: str | None) -> str | None:
    """A host name ("codeteki.com.au"): ASCII labels of letters, digits and hyphens."""
    if value is None:
        return None
    value = value.strip().lower()
    if not _HOSTNAME.match(value):
        raise ValueError("not a domain name (e.g. example.com)")
    return value


def check_address(value: str | None) -> str | None:
    """An email address's form (deliverability is the provider's business)."""
    if value is None:
        return None
    try:
        return validate_email(
            value, check_deliverability=False, globally_deliverable=False
        ).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


def check_optional_address(value: str | None) -> str | None:
    """A reply-to address, or none ("" leaves replies to go to the sender)."""
    return value if not value else check_address(value)


def check_local_time(value: time | None) -> time | None:
    """Send windows are in the brand's (or the contact's) own zone: a time carrying a zone
    ("10:00:00Z") is ambiguous, so refused."""
    if value is not None and value.tzinfo is not None:
        raise ValueError("a local time without a zone (e.g. 09:00), in the brand's time zone")
    return value


class BrandCreate(BrandBase):
    # A new brand is a new sending domain: it warms up unless told otherwise.
    warmup_enabled: bool = True

    _tz = field_validator("timezone")(check_timezone)
    _days = field_validator("send_days")(check_send_days)
    _domain = field_validator("domain")(check_domain)
    _from_email = field_validator("from_email")(check_address)
    _reply_to = field_validator("reply_to")(check_optional_address)
    _times = field_validator("send_window_start", "send_window_end")(check_local_time)

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
    daily_cap: int | None = Field(default=None, ge=1, le=MAX_DAILY_CAP)
    min_gap_seconds: int | None = Field(default=None, ge=0, le=MAX_GAP_SECONDS)
    human_review: bool | None = None
    postal_address: str | None = Field(default=None, max_length=500)
    website_url: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None
    voice: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=1000)
    warmup_enabled: bool | None = None
    warmup_start_cap: int | None = Field(default=None, ge=1, le=MAX_DAILY_CAP)
    warmup_increase_percent: int | None = Field(default=None, ge=1, le=1000)

    _tz = field_validator("timezone")(check_timezone)
    _days = field_validator("send_days")(check_send_days)
    _domain = field_validator("domain")(check_domain)
    _from_email = field_validator("from_email")(check_address)
    _reply_to = field_validator("reply_to")(check_optional_address)
    _times = field_validator("send_window_start", "send_window_end")(check_local_time)


class BrandPublic(BrandBase, BrandSendingState):
    id: int
    created_at: datetime


def find_brand(session: Session, ref: str) -> Brand | None:
    """A brand named by id ("2") or slug ("codeteki"), as operators and requests name them."""
    ref = ref.strip()
    if is_row_id(ref):
        return session.get(Brand, int(ref))
    return session.exec(select(Brand).where(Brand.slug == ref)).first()
