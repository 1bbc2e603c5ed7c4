"""Column types shared by every table: UTC timestamps and string-backed enums."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.engine import Dialect


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


class ContactType(StrEnum):
    lead = "lead"
    backlink_target = "backlink_target"
    partner = "partner"


class SuppressionReason(StrEnum):
    unsubscribed = "unsubscribed"
    hard_bounce = "hard_bounce"
    complaint = "complaint"
    manual = "manual"


class PipelineType(StrEnum):
    sales = "sales"
    backlink = "backlink"
    partnership = "partnership"
    directory = "directory"
    onboarding = "onboarding"


class StageKind(StrEnum):
    entry = "entry"
    sequence = "sequence"
    reply = "reply"
    manual = "manual"
    won = "won"
    lost = "lost"


class AutoAction(StrEnum):
    none = "none"
    send_email = "send_email"  # the autopilot sends this stage's email as it advances into it
    send_on_enter = "send_on_enter"  # sent whenever a deal enters the stage (product events)
    draft_reply = "draft_reply"  # a reply arrived: draft a suggested answer for a person
    close = "close"


class DealStatus(StrEnum):
    active = "active"
    won = "won"
    lost = "lost"
    paused = "paused"


class EngagementTier(StrEnum):
    new = "new"
    engaged = "engaged"
    hot = "hot"
    warm = "warm"
    lurker = "lurker"
    cold = "cold"
    ghost = "ghost"


class EmailStatus(StrEnum):
    pending = "pending"  # reserved, provider not yet called
    sending = "sending"  # provider called, outcome not yet recorded
    sent = "sent"
    failed = "failed"
    unknown = "unknown"  # a crash left the outcome unknown: flagged for review, never resent


class EmailEventType(StrEnum):
    open = "open"
    click = "click"
    reply = "reply"
    bounce = "bounce"
    soft_bounce = "soft_bounce"
    complaint = "complaint"
    unsubscribe = "unsubscribe"
    delivered = "delivered"


class DraftStatus(StrEnum):
    draft = "draft"
    pending_review = "pending_review"
    approved = "approved"
    rejected = "rejected"
    scheduled = "scheduled"
    sent = "sent"


class BacklinkStatus(StrEnum):
    new = "new"
    researching = "researching"
    outreaching = "outreaching"
    placed = "placed"
    rejected = "rejected"


class LinkCheck(StrEnum):
    """What the last fetch of a backlink's target page found."""

    unchecked = "unchecked"
    found = "found"  # our link is on the page
    missing = "missing"  # never seen on the page yet
    removed = "removed"  # seen before, gone now
    error = "error"  # the page could not be fetched or read


class PromptType(StrEnum):
    analyze_deal = "analyze_deal"
    compose_email = "compose_email"
    classify_reply = "classify_reply"
    score_lead = "score_lead"
    generate_backlink_pitch = "generate_backlink_pitch"
    smart_salutation = "smart_salutation"


class MailProviderName(StrEnum):
    outbox = "outbox"
    smtp = "smtp"
    zoho = "zoho"
    zeptomail = "zeptomail"
