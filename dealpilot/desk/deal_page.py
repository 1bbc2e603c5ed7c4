"""A deal's page: the deal and its contact, the stages it may move to, every email with what
happened to it, replies, AI decisions and drafts waiting for a person."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from dealpilot.accounts import BrandScope, brand_members
from dealpilot.core.errors import NotFound
from dealpilot.deals import service as deals
from models import (
    AIDecisionLog,
    Contact,
    Deal,
    DraftStatus,
    EmailDraft,
    EmailEvent,
    EmailEventType,
    EmailLog,
    PipelineStage,
    Suppression,
)
from models.deal import DealPublic

ROWS = 50


@dataclass
class DealView:
    deal: DealPublic
    contact: Contact
    stages: list[PipelineStage]
    emails: list[EmailLog]
    replies: list[EmailEvent]
    decisions: list[AIDecisionLog]
    drafts: list[EmailDraft]
    suppression: Suppression | None
    # Who may own the deal (users who may see its brand), for the owner field.
    owners: list[tuple[int, str]] = field(default_factory=list)


def scoped_deal(session: Session, scope: BrandScope, deal_id: int) -> Deal:
    """The deal, if the user may see its brand; another brand's deal is a 404 like a
    missing one."""
    row = session.exec(
        select(Deal, Contact.brand_id)
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .where(Deal.id == deal_id)
    ).first()
    if row is None or not scope.allows(row[1]):
        raise NotFound(f"Deal {deal_id} not found")
    return row[0]


def deal_view(session: Session, scope: BrandScope, deal_id: int) -> DealView:
    deal = scoped_deal(session, scope, deal_id)
    public = deals.get_deal_public(session, deal_id)
    contact = session.get(Contact, deal.contact_id)
    assert contact is not None
    return DealView(
        deal=public,
        contact=contact,
        stages=deals.stages_in_order(session, deal.pipeline_id),
        emails=list(
            session.exec(
                select(EmailLog)
                .where(EmailLog.deal_id == deal_id)
                .order_by(col(EmailLog.created_at).desc())
                .limit(ROWS)
            ).all()
        ),
        replies=list(
            session.exec(
                select(EmailEvent)
                .where(EmailEvent.deal_id == deal_id, EmailEvent.event_type == EmailEventType.reply)
                .order_by(col(EmailEvent.occurred_at).desc())
                .limit(ROWS)
            ).all()
        ),
        decisions=list(
            session.exec(
                select(AIDecisionLog)
                .where(AIDecisionLog.deal_id == deal_id)
                .order_by(col(AIDecisionLog.created_at).desc())
                .limit(ROWS)
            ).all()
        ),
        drafts=list(
            session.exec(
                select(EmailDraft)
                .where(
                    EmailDraft.deal_id == deal_id,
                    EmailDraft.status == DraftStatus.pending_review,
                )
                .order_by(col(EmailDraft.created_at).desc())
            ).all()
        ),
        suppression=session.exec(
            select(Suppression).where(
                Suppression.brand_id == contact.brand_id, Suppression.email == contact.email
            )
        ).first(),
        owners=[(m.user_id, m.label) for m in brand_members(session, contact.brand_id)],
    )
