from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Date, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from dealpilot.core.enums import DraftKind, DraftStatus, EmailEventType, EmailStatus
from models.types import UTCDateTime, utcnow

FLAGGED_EVENTS = "event_type IN ('complaint', 'unsubscribe')"


class EmailLog(SQLModel, table=True):
    """One outgoing email. `idempotency_key` ("deal-{id}:step-{n}") makes every send once-only."""

    # Newest first, by each main filter of the list (see Deal).
    __table_args__ = (
        Index("ix_emaillog_created", "created_at", "id"),
        Index("ix_emaillog_brand_created", "brand_id", "created_at", "id"),
        Index("ix_emaillog_deal_created", "deal_id", "created_at", "id"),
        Index("ix_emaillog_stage_created", "stage_id", "created_at", "id"),
        Index("ix_emaillog_status_created", "status", "created_at", "id"),
        # The deliverability guard: a brand's sends since a time (migration 0016).
        Index(
            "ix_emaillog_brand_sent",
            "brand_id",
            "sent_at",
            "bounced",
            postgresql_where=text("status = 'sent'"),
            sqlite_where=text("status = 'sent'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    brand_id: int = Field(foreign_key="brand.id")
    deal_id: int | None = Field(default=None, foreign_key="deal.id")
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
        default=EmailStatus.pending, sa_column=Column(String(20), nullable=False)
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

    __table_args__ = (
        UniqueConstraint("source", "dedupe_key", name="uq_event_source_dedupe"),
        # `?pending=true`: the events not yet delivered, newest first.
        Index(
            "ix_emailevent_pending",
            "id",
            postgresql_where=text("delivered_at IS NULL"),
            sqlite_where=text("delivered_at IS NULL"),
        ),
        # The relay's two queues, kept small however many events are stored: events received
        # but not yet matched (`settled` false), and matched events not yet delivered.
        Index(
            "ix_emailevent_unsettled",
            "id",
            postgresql_where=text("NOT settled"),
            sqlite_where=text("NOT settled"),
        ),
        Index(
            "ix_emailevent_undelivered",
            "deal_id",
            "id",
            postgresql_where=text("delivered_at IS NULL AND deal_id IS NOT NULL"),
            sqlite_where=text("delivered_at IS NULL AND deal_id IS NOT NULL"),
        ),
        # The deliverability guard: a brand's complaints and unsubscribes since a time, a few
        # rows among its opens and clicks (migration 0016).
        Index(
            "ix_emailevent_flagged",
            "brand_id",
            "occurred_at",
            "event_type",
            "email",
            postgresql_where=text(FLAGGED_EVENTS),
            sqlite_where=text(FLAGGED_EVENTS),
        ),
    )

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
    # False while an event received by a hot endpoint (pixel, click, reply) waits to be matched
    # to its email and deal (dealpilot.intake.settling); then brand, log and deal are set.
    settled: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true"))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EmailDraft(SQLModel, table=True):
    """An email a person looks at before (or instead of) it is sent, of one of four kinds
    (`kind`): a composer draft (an operator's bulk email), a review-queue draft (a deal's stage
    email held for a person), a suggested reply (the AI's answer to a reply) or a next-email
    draft (a deal's next email rendered on request, never sent)."""

    # The review queue: one kind, waiting for a person, in order.
    __table_args__ = (Index("ix_emaildraft_queue", "kind", "status", "created_at", "id"),)

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


class EmailRollup(SQLModel, table=True):
    """Per pipeline, the sent emails' outcomes (what `GET /api/crm/stats/` shows), kept by
    database triggers on `emaillog` (migration 0010) so every write path counts, whoever makes
    it: an email counts while its status is `sent`, in its deal's pipeline. Counting a million
    email logs per request is what it replaces."""

    pipeline_id: int = Field(foreign_key="pipeline.id", primary_key=True)
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    replied: int = 0
    bounced: int = 0


class EmailDaily(SQLModel, table=True):
    """Per UTC day of sending, brand, pipeline, stage, A/B variant and kind of body (template
    or AI-written): the sent emails' outcomes, kept by triggers on `emaillog` (migration 0015)
    like EmailRollup, for the analytics' date ranges. An email counts while its status is
    `sent`; `pipeline_id` and `stage_id` are 0 for an email without a deal or a stage."""

    day: date = Field(sa_column=Column(Date, primary_key=True))
    brand_id: int = Field(primary_key=True)
    pipeline_id: int = Field(primary_key=True)
    stage_id: int = Field(primary_key=True)
    variant: str = Field(max_length=1, primary_key=True)
    ai_generated: bool = Field(primary_key=True)
    sent: int = 0
    opened: int = 0
    machine_opened: int = 0
    clicked: int = 0
    replied: int = 0
    bounced: int = 0


class BrandSendHour(SQLModel, table=True):
    """Per brand and UTC hour of sending (`hour`: whole hours since 1970-01-01 UTC), the sends
    and their bounces, kept by triggers on `emaillog` (migration 0016) like EmailDaily: an email
    counts while its status is `sent` and it has a `sent_at`. The deliverability guard sums a
    week of these (168 rows) on every send instead of counting the week's email logs."""

    brand_id: int = Field(primary_key=True)
    hour: int = Field(primary_key=True)
    sent: int = 0
    bounced: int = 0
