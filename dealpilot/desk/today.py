"""Today: what needs a person now, and the day's numbers per brand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from dealpilot.accounts import BrandScope
from dealpilot.deals.deliverability import BrandHealth, health
from models import (
    AIDecisionLog,
    Brand,
    Contact,
    Deal,
    DealStatus,
    DraftKind,
    DraftStatus,
    EmailDraft,
    EmailEvent,
    EmailEventType,
    EmailLog,
    EmailStatus,
    PipelineStage,
)

LIST_LIMIT = 20
T = TypeVar("T")
FLAG_ACTIONS = ("flag_for_review", "flagged_for_review")


@dataclass
class ReplyToAnswer:
    draft_id: int
    deal_id: int
    contact_email: str
    contact_name: str
    subject: str
    suggested: str
    intent: str
    reading: str
    reply_text: str
    created_at: datetime


@dataclass
class ReviewDraft:
    draft_id: int
    deal_id: int
    contact_email: str
    subject: str
    stage: str
    created_at: datetime


@dataclass
class DealAttention:
    deal_id: int
    contact_email: str
    stage: str
    status: str
    why: str


@dataclass
class SendProblem:
    email_log_id: int
    deal_id: int | None
    to_email: str
    subject: str
    status: str
    error: str


@dataclass
class UnmatchedEvent:
    event_id: int
    event_type: str
    source: str
    email: str | None
    occurred_at: datetime


@dataclass
class BrandDay:
    brand: str
    name: str
    sent: int = 0
    opened: int = 0
    replied: int = 0
    new_deals: int = 0
    won: int = 0


@dataclass
class Listing(Generic[T]):
    items: list[T] = field(default_factory=list)
    total: int = 0


@dataclass
class Today:
    replies: Listing[ReplyToAnswer]
    review: Listing[ReviewDraft]
    attention: Listing[DealAttention]
    sends: Listing[SendProblem]
    unmatched: Listing[UnmatchedEvent]
    numbers: list[BrandDay]
    # Each brand's deliverability: paused (and why), the guard's rates, the warm-up.
    sending: list[BrandHealth] = field(default_factory=list)


def _count(session: Session, query: Any) -> int:
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())


def _replies(session: Session, scope: BrandScope) -> Listing[ReplyToAnswer]:
    latest = (
        select(func.max(AIDecisionLog.id))
        .where(
            AIDecisionLog.deal_id == Deal.id,
            AIDecisionLog.decision_type == "classify_reply",
        )
        .correlate(Deal)
        .scalar_subquery()
    )
    last_reply = (
        select(EmailLog.reply_content)
        .where(EmailLog.deal_id == Deal.id, col(EmailLog.replied))
        .order_by(col(EmailLog.replied_at).desc())
        .limit(1)
        .correlate(Deal)
        .scalar_subquery()
    )
    base = (
        select(EmailDraft, Deal.id, Contact.email, Contact.name)
        .join(Deal, col(Deal.id) == col(EmailDraft.deal_id))
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .where(
            EmailDraft.kind == DraftKind.reply,
            EmailDraft.status == DraftStatus.pending_review,
            scope.condition(EmailDraft.brand_id),
        )
    )
    rows = session.execute(
        base.add_columns(col(AIDecisionLog.action_taken), col(AIDecisionLog.reasoning), last_reply)
        .outerjoin(AIDecisionLog, col(AIDecisionLog.id) == latest)
        .order_by(col(EmailDraft.created_at).desc())
        .limit(LIST_LIMIT)
    ).all()
    items = [
        ReplyToAnswer(
            draft_id=d.id or 0,
            deal_id=deal_id,
            contact_email=email,
            contact_name=name,
            subject=d.subject,
            suggested=d.body,
            intent=intent or "",
            reading=reading or "",
            reply_text=reply or "",
            created_at=d.created_at,
        )
        for d, deal_id, email, name, intent, reading, reply in rows
    ]
    return Listing(items, _count(session, base))


def _review(session: Session, scope: BrandScope) -> Listing[ReviewDraft]:
    base = (
        select(EmailDraft, Contact.email, PipelineStage.name)
        .join(Deal, col(Deal.id) == col(EmailDraft.deal_id))
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .outerjoin(PipelineStage, col(PipelineStage.id) == col(EmailDraft.stage_id))
        .where(
            EmailDraft.kind == DraftKind.review,
            EmailDraft.status == DraftStatus.pending_review,
            scope.condition(EmailDraft.brand_id),
        )
    )
    rows = session.exec(base.order_by(col(EmailDraft.created_at)).limit(LIST_LIMIT)).all()
    items = [
        ReviewDraft(d.id or 0, d.deal_id or 0, email, d.subject, stage or "", d.created_at)
        for d, email, stage in rows
    ]
    return Listing(items, _count(session, base))


def _attention(
    session: Session, scope: BrandScope, *, now: datetime, stuck_after: timedelta
) -> Listing[DealAttention]:
    flagged = exists().where(
        col(AIDecisionLog.deal_id) == col(Deal.id),
        col(AIDecisionLog.action_taken).in_(FLAG_ACTIONS),
        col(AIDecisionLog.created_at) >= col(Deal.stage_entered_at),
    )
    stuck = and_(
        col(Deal.status) == DealStatus.active,
        col(Deal.next_action_at).is_(None),
        col(Deal.stage_entered_at) <= now - stuck_after,
    )
    base = (
        select(Deal, Contact.email, PipelineStage.name, flagged)
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .join(PipelineStage, col(PipelineStage.id) == col(Deal.stage_id))
        .where(
            col(Deal.status).in_([DealStatus.active, DealStatus.paused]),
            or_(flagged, stuck, col(Deal.status) == DealStatus.paused),
            scope.condition(Contact.brand_id),
        )
    )
    rows = session.exec(base.order_by(col(Deal.stage_entered_at)).limit(LIST_LIMIT)).all()
    items = []
    for deal, email, stage, is_flagged in rows:
        if is_flagged:
            why = "flagged for a person by the autopilot"
        elif deal.status == DealStatus.paused:
            why = f"paused: {deal.next_action_reason or 'no reason given'}"
        else:
            why = f"stuck: in {stage} since {deal.stage_entered_at:%Y-%m-%d}, nothing scheduled"
        items.append(DealAttention(deal.id or 0, email, stage, deal.status, why))
    return Listing(items, _count(session, base))


def _sends(session: Session, scope: BrandScope) -> Listing[SendProblem]:
    base = select(EmailLog).where(
        col(EmailLog.status).in_([EmailStatus.failed, EmailStatus.unknown]),
        scope.condition(EmailLog.brand_id),
    )
    rows = session.exec(base.order_by(col(EmailLog.created_at).desc()).limit(LIST_LIMIT)).all()
    items = [
        SendProblem(r.id or 0, r.deal_id, r.to_email, r.subject, r.status, r.error) for r in rows
    ]
    return Listing(items, _count(session, base))


def _unmatched(session: Session, scope: BrandScope) -> Listing[UnmatchedEvent]:
    # An event matched to no brand is only an admin's to see. One not yet settled (matched
    # by the relay, a moment after it was received) is not unmatched yet.
    base = select(EmailEvent).where(
        col(EmailEvent.deal_id).is_(None),
        col(EmailEvent.settled).is_(True),
        scope.condition(EmailEvent.brand_id),
    )
    rows = session.exec(base.order_by(col(EmailEvent.created_at).desc()).limit(LIST_LIMIT)).all()
    items = [
        UnmatchedEvent(e.id or 0, e.event_type, e.source, e.email, e.occurred_at) for e in rows
    ]
    return Listing(items, _count(session, base))


def _local_midnight(brand: Brand, now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(brand.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _numbers(session: Session, scope: BrandScope, now: datetime) -> list[BrandDay]:
    """Since midnight in each brand's own time zone."""
    brands = session.exec(
        select(Brand).where(scope.condition(Brand.id)).order_by(col(Brand.slug))
    ).all()
    days = []
    for brand in brands:
        since = _local_midnight(brand, now)
        day = BrandDay(brand.slug, brand.name)
        day.sent = session.exec(
            select(func.count()).where(
                EmailLog.brand_id == brand.id,
                EmailLog.status == EmailStatus.sent,
                col(EmailLog.sent_at) >= since,
            )
        ).one()
        counts = dict(
            session.exec(
                select(EmailEvent.event_type, func.count())
                .where(
                    EmailEvent.brand_id == brand.id,
                    col(EmailEvent.event_type).in_([EmailEventType.open, EmailEventType.reply]),
                    col(EmailEvent.is_bot).is_(False),
                    col(EmailEvent.occurred_at) >= since,
                )
                .group_by(EmailEvent.event_type)
            ).all()
        )
        day.opened = counts.get(EmailEventType.open, 0)
        day.replied = counts.get(EmailEventType.reply, 0)
        deals = (
            select(func.count())
            .select_from(Deal)
            .join(Contact, col(Contact.id) == col(Deal.contact_id))
            .where(Contact.brand_id == brand.id)
        )
        day.new_deals = session.exec(deals.where(col(Deal.created_at) >= since)).one()
        day.won = session.exec(
            deals.where(Deal.status == DealStatus.won, col(Deal.updated_at) >= since)
        ).one()
        days.append(day)
    return days


def today(session: Session, scope: BrandScope, *, now: datetime, stuck_after: timedelta) -> Today:
    return Today(
        replies=_replies(session, scope),
        review=_review(session, scope),
        attention=_attention(session, scope, now=now, stuck_after=stuck_after),
        sends=_sends(session, scope),
        unmatched=_unmatched(session, scope),
        numbers=_numbers(session, scope, now),
        sending=[
            health(session, brand, now, domains=False)
            for brand in session.exec(
                select(Brand).where(scope.condition(Brand.id)).order_by(col(Brand.slug))
            ).all()
        ],
    )
