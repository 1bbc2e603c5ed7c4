from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from dealpilot.core.enums import DraftKind, DraftStatus, EmailEventType, EmailStatus
from models.types import UTCDateTime, utcnow


class EmailLog(SQLModel, table=True):
    """One outgoing email. `idempotency_key` ("deal-{id}:step-{n}") makes every send once-only."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    deal_id: int | None = Field(default=None, foreign_key="deal.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    stage_id: int | None = Field(default=None, foreign_key="pipelinestage.id")
    sequence_step_id: int | None = Field(default=None, foreign_key="sequencestep.id")
    to_email: str = Field(max_length=320, index=True)
    provider: str = Field(default="", max_length=20)
    message_id: str | None = Field(default=None, max_length=255, index=True)
    provider_message_id: str | None = Field(default=None, max_length=255)
    provider_request_id: str | None = Field(default=None, max_length=255)
    subject: str = Field(max_length=300)
    body: str = ""
    body_text: str = ""
    variant: str = Field(default="A", max_length=1)
    status: EmailStatus = Field(
        default=EmailStatus.pending, sa_column=Column(String(20), nullable=False, index=True)
    )
    error: str = ""
    ai_generated: bool = False
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    opened: bool = False
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    clicked: bool = False
    clicked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    replied: bool = False
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reply_content: str | None = None
    bounced: bool = False
    # Fetched by Apple Mail Privacy Protection on arrival: no sign anyone read it (not `opened`).
    machine_opened: bool = False
    machine_opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EmailEvent(SQLModel, table=True):
    """An inbound event as received; `dedupe_key` makes redelivery harmless."""

    __table_args__ = (UniqueConstraint("source", "dedupe_key", name="uq_event_source_dedupe"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int | None = Field(default=None, foreign_key="brand.id", index=True)
    email_log_id: int | None = Field(default=None, foreign_key="emaillog.id", index=True)
    deal_id: int | None = Field(default=None, foreign_key="deal.id", index=True)
    event_type: EmailEventType = Field(sa_column=Column(String(20), nullable=False, index=True))
    source: str = Field(max_length=50)
    dedupe_key: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    url: str | None = None
    is_bot: bool = False
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EmailDraft(SQLModel, table=True):
    """An email a person looks at before (or instead of) it is sent, of one of four kinds
    (`kind`): a composer draft (an operator's bulk email), a review-queue draft (a deal's stage
    email held for a person), a suggested reply (the AI's answer to a reply) or a next-email
    draft (a deal's next email rendered on request, never sent)."""

    id: int | None = Field(default=None, primary_key=True)
    # No default: a draft whose kind was not given is refused by the database (NOT NULL)
    # instead of turning up in the wrong list.
    kind: DraftKind = Field(sa_column=Column(String(20), nullable=False, index=True))
    brand_id: int = Field(foreign_key="brand.id", index=True)
    pipeline_id: int | None = Field(default=None, foreign_key="pipeline.id")
    deal_id: int | None = Field(default=None, foreign_key="deal.id", index=True)
    email_type: str = Field(default="", max_length=50)
    tone: str = Field(default="", max_length=50)
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    subject: str = Field(default="", max_length=300)
    body: str = ""
    status: DraftStatus = Field(
        default=DraftStatus.draft, sa_column=Column(String(20), nullable=False, index=True)
    )
    ai_generated: bool = False
    scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # The IANA zone the operator scheduled in; scheduled_at itself is UTC.
    timezone: str = Field(default="Australia/Sydney", max_length=64)
    # Composer: sent once to its recipients, enrolling them into no follow-ups (migration 0008).
    one_off: bool = False
    # Composer: a saved contact filter resolved into recipients when the draft is sent.
    recipient_filter: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Review queue: the deal email this draft holds back (contact, stage, send counter).
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    stage_id: int | None = Field(default=None, foreign_key="pipelinestage.id")
    step: int | None = None
    variant: str = Field(default="", max_length=1)
    review_note: str = ""
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What sending did: deals started, recipients skipped and why.
    outcome: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EmailLogPublic(SQLModel):
    id: int
    idempotency_key: str
    brand_id: int
    deal_id: int | None
    contact_id: int | None
    stage_id: int | None
    sequence_step_id: int | None
    to_email: str
    provider: str
    message_id: str | None
    subject: str
    body: str
    body_text: str
    variant: str
    status: EmailStatus
    error: str
    ai_generated: bool
    sent_at: datetime | None
    opened: bool
    opened_at: datetime | None
    clicked: bool
    clicked_at: datetime | None
    replied: bool
    replied_at: datetime | None
    reply_content: str | None
    bounced: bool
    machine_opened: bool
    machine_opened_at: datetime | None
    created_at: datetime
