from __future__ import annotations

from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from pydantic import field_validator
from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from dealpilot.core.enums import ContactType, SuppressionReason
from models.brand import check_timezone
from models.types import Id, UTCDateTime, utcnow


class ContactBase(SQLModel):
    email: str = Field(max_length=320, index=True)
    name: str = Field(default="", max_length=200)
    company: str = Field(default="", max_length=200)
    website: str = Field(default="", max_length=500)
    phone: str = Field(default="", max_length=64)
    domain_authority: int | None = Field(default=None, ge=0, le=100)
    contact_type: ContactType = Field(
        default=ContactType.lead, sa_column=Column(String(32), nullable=False)
    )
    source: str = Field(default="", max_length=100)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    ai_score: int | None = Field(default=None, ge=0, le=100)
    timezone: str | None = Field(default=None, max_length=64)
    notes: str = ""


class Contact(ContactBase, table=True):
    __table_args__ = (UniqueConstraint("brand_id", "email", name="uq_contact_brand_email"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Suppression(SQLModel, table=True):
    """A brand must never email this address again. One brand's row never affects another."""

    __table_args__ = (UniqueConstraint("brand_id", "email", name="uq_suppression_brand_email"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    email: str = Field(max_length=320, index=True)
    reason: SuppressionReason = Field(sa_column=Column(String(20), nullable=False))
    detail: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def normalise_email(value: str) -> str:
    """Validated and lowercased, so (brand, email) uniqueness is case-insensitive."""
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return result.normalized.lower()


def _optional_email(value: str | None) -> str | None:
    return None if value is None else normalise_email(value)


class ContactCreate(ContactBase):
    brand_id: Id

    _email = field_validator("email")(normalise_email)
    _tz = field_validator("timezone")(check_timezone)


class ContactUpdate(SQLModel):
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    website: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=64)
    domain_authority: int | None = Field(default=None, ge=0, le=100)
    contact_type: ContactType | None = None
    source: str | None = Field(default=None, max_length=100)
    tags: list[str] | None = None
    ai_score: int | None = Field(default=None, ge=0, le=100)
    timezone: str | None = Field(default=None, max_length=64)
    notes: str | None = None

    _email = field_validator("email")(_optional_email)
    _tz = field_validator("timezone")(check_timezone)


class ContactPublic(ContactBase):
    id: int
    brand_id: int
    created_at: datetime
    updated_at: datetime


class SuppressionCreate(SQLModel):
    brand_id: Id
    email: str = Field(max_length=320)
    reason: SuppressionReason = SuppressionReason.manual
    detail: str = ""

    _email = field_validator("email")(normalise_email)


class SuppressionPublic(SQLModel):
    id: int
    brand_id: int
    email: str
    reason: SuppressionReason
    detail: str
    created_at: datetime
