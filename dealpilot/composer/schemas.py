"""Request and response bodies of the email composer (API and CLI)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator

from dealpilot.composer import rules
from dealpilot.composer.rules import RecipientFilter
from dealpilot.deals.schemas import MAX_BULK_CONTACTS
from models import DraftStatus
from models.types import Id


class DraftCreate(BaseModel):
    """`addresses` is pasted text ("a@b.com, Priya <p@x.com>; ..." or one per line) or a list;
    `contact_ids` are the brand's contacts; `filter` is kept and resolved when sending. With
    `ai` (default) the AI writes subject and body; with `ai=false` a person writes them.
    `one_off`: an announcement or one-off update, sent once with no follow-ups afterwards."""

    brand: str = Field(description="Brand id or slug")
    pipeline: str = Field(description="Pipeline id or slug (of that brand)")
    email_type: str = Field(description=f"One of {', '.join(rules.EMAIL_TYPES)}")
    tone: str = Field(default="friendly", description=f"One of {', '.join(rules.TONES)}")
    contact_ids: list[Id] = Field(default_factory=list, max_length=MAX_BULK_CONTACTS)
    addresses: str | list[str] = ""
    filter: RecipientFilter | None = None
    instructions: str = Field(default="", max_length=2000)
    ai: bool = True
    subject: str = Field(default="", max_length=300)
    body: str = Field(default="", max_length=50_000)
    one_off: bool = Field(
        default=False, description="Send once; enrol the recipients into no follow-ups"
    )

    _type = field_validator("email_type")(rules.check_email_type)
    _tone = field_validator("tone")(rules.check_tone)

    @field_validator("brand", "pipeline", mode="before")
    @classmethod
    def _ref(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class DraftUpdate(BaseModel):
    """A person's edit. `addresses`/`contact_ids` replace the listed recipients; `filter`
    null removes the saved filter."""

    subject: str | None = Field(default=None, max_length=300)
    body: str | None = Field(default=None, max_length=50_000)
    tone: str | None = None
    email_type: str | None = None
    addresses: str | list[str] | None = None
    contact_ids: list[Id] | None = Field(default=None, max_length=MAX_BULK_CONTACTS)
    filter: RecipientFilter | None = None
    one_off: bool | None = None

    @field_validator("email_type")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        return None if value is None else rules.check_email_type(value)

    @field_validator("tone")
    @classmethod
    def _tone(cls, value: str | None) -> str | None:
        return None if value is None else rules.check_tone(value)


class DraftPublic(BaseModel):
    id: int
    brand_id: int
    pipeline_id: int | None
    email_type: str
    tone: str
    recipients: list[str]
    recipient_filter: dict[str, Any] | None
    subject: str
    body: str
    status: DraftStatus
    ai_generated: bool
    one_off: bool  # sent once: no follow-ups
    scheduled_at: datetime | None  # UTC
    timezone: str
    scheduled_local: str | None  # scheduled_at on the wall clock of `timezone`
    sent_at: datetime | None
    outcome: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class RecipientStatus(StrEnum):
    valid = "valid"  # a contact of the brand, can be enrolled
    new = "new"  # a valid address the brand does not know: a contact is created on send
    invalid = "invalid"
    suppressed = "suppressed"
    open_deal = "open_deal"  # already has an open deal in the pipeline
    duplicate = "duplicate"
    unknown_contact = "unknown_contact"


SENDABLE = (RecipientStatus.valid, RecipientStatus.new)


class ResolvedRecipient(BaseModel):
    input: str
    source: str  # contact | pasted | filter
    status: RecipientStatus
    email: str | None = None
    name: str = ""
    contact_id: int | None = None
    message: str = ""


class Resolution(BaseModel):
    recipients: list[ResolvedRecipient]
    counts: dict[str, int]
    sendable: int


class ResolveRequest(BaseModel):
    brand: str
    pipeline: str | None = None
    contact_ids: list[Id] = Field(default_factory=list, max_length=MAX_BULK_CONTACTS)
    addresses: str | list[str] = ""
    filter: RecipientFilter | None = None

    @field_validator("brand", "pipeline", mode="before")
    @classmethod
    def _ref(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class PreviewRequest(BaseModel):
    """The recipient to render for: a contact, an address, or (neither) the draft's first
    recipient, else a sample contact."""

    contact_id: Id | None = None
    email: str | None = Field(default=None, max_length=320)


class DraftPreview(BaseModel):
    draft_id: int
    to_email: str
    subject: str
    html: str
    text: str
