"""The deal rows the workflow reads and mirrors: context, engagement, state, decisions,
suppressions and reply drafts. Every function works in the caller's session and never commits
(the activity in activities/deals.py owns the unit of work)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from dealpilot.core.errors import NotFound
from dealpilot.deals.engagement import engagement_stats
from models import (
    AIDecisionLog,
    BacklinkOpportunity,
    BacklinkStatus,
    Brand,
    Contact,
    Deal,
    DealStatus,
    DraftKind,
    DraftStatus,
    EmailDraft,
    Pipeline,
    PipelineStage,
    Suppression,
    SuppressionReason,
    utcnow,
)
from workflows.contracts import (
    DealContext,
    DealSnapshot,
    DecisionRecord,
    DraftReplyRequest,
    Engagement,
    SuppressRequest,
)
from workflows.rules import SendWindow, StageInfo, engagement_tier


class InvalidDeal(NotFound):
    """The deal an activity names is gone: retrying cannot bring it back (the send and
    database retry policies name this type)."""

    code = "invalid_deal"


def stage_info(stage: PipelineStage) -> StageInfo:
    assert stage.id is not None
    return StageInfo(
        id=stage.id,
        name=stage.name,
        slug=stage.slug,
        order=stage.order,
        kind=str(stage.kind),
        auto_action=str(stage.auto_action),
        days_until_followup=stage.days_until_followup,
        is_terminal=stage.is_terminal,
        template_key=stage.template_key,
    )


def brand_window(brand: Brand) -> SendWindow:
    return SendWindow(
        timezone=brand.timezone,
        start=brand.send_window_start,
        end=brand.send_window_end,
        days=tuple(brand.send_days),
    )


def load_deal_rows(session: Session, deal_id: int) -> tuple[Deal, Contact, Pipeline, Brand]:
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise InvalidDeal(f"deal {deal_id} does not exist")
    contact = session.get(Contact, deal.contact_id)
    pipeline = session.get(Pipeline, deal.pipeline_id)
    assert contact is not None
    assert pipeline is not None
    brand = session.get(Brand, pipeline.brand_id)
    assert brand is not None
    return deal, contact, pipeline, brand


def suppression_for(session: Session, brand_id: int, email: str) -> Suppression | None:
    return session.exec(
        select(Suppression).where(Suppression.brand_id == brand_id, Suppression.email == email)
    ).first()


class DealStore:
    """The deal tables as the deal workflow sees them; each method works in the session it
    is given."""

    def load_deal_context(self, session: Session, deal_id: int) -> DealContext:
        deal, contact, pipeline, brand = load_deal_rows(session, deal_id)
        stages = session.exec(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == pipeline.id)
            .order_by(col(PipelineStage.order))
        ).all()
        suppression = suppression_for(session, brand.id or 0, contact.email)
        assert brand.id is not None
        assert pipeline.id is not None
        assert contact.id is not None
        return DealContext(
            deal_id=deal_id,
            brand_id=brand.id,
            brand_slug=brand.slug,
            brand_name=brand.name,
            pipeline_id=pipeline.id,
            pipeline_name=pipeline.name,
            contact_id=contact.id,
            contact_email=contact.email,
            contact_name=contact.name,
            contact_timezone=contact.timezone,
            window=brand_window(brand),
            stages=[stage_info(s) for s in stages],
            stage_id=deal.stage_id,
            status=str(deal.status),
            suppressed=suppression is not None,
            suppression_reason=str(suppression.reason) if suppression else None,
            human_review=brand.human_review or pipeline.human_review,
        )

    def engagement_profile(self, session: Session, deal_id: int, now: datetime) -> Engagement:
        _deal, contact, _pipeline, brand = load_deal_rows(session, deal_id)
        assert brand.id is not None
        stats = engagement_stats(session, brand_id=brand.id, email=contact.email)
        return Engagement(stats=stats, tier=engagement_tier(stats, now))

    def sync_deal(self, session: Session, snap: DealSnapshot) -> None:
        deal = session.get(Deal, snap.deal_id)
        if deal is None:
            raise InvalidDeal("deal vanished")
        deal.stage_id = snap.stage_id
        deal.status = snap.status  # type: ignore[assignment]
        deal.engagement_tier = snap.engagement_tier  # type: ignore[assignment]
        deal.next_action_at = snap.next_action_at
        deal.next_action_reason = snap.next_action_reason[:500]
        deal.stage_entered_at = snap.stage_entered_at
        deal.lost_reason = snap.lost_reason
        if snap.ai_notes:
            deal.ai_notes = snap.ai_notes
        deal.updated_at = utcnow()
        session.add(deal)
        _follow_deal(session, deal)

    def record_decision(self, session: Session, record: DecisionRecord) -> None:
        deal, _contact, _pipeline, brand = load_deal_rows(session, record.deal_id)
        session.add(
            AIDecisionLog(
                brand_id=brand.id,
                deal_id=deal.id,
                decision_type=record.decision_type,
                action_taken=record.action_taken[:100],
                reasoning=record.reasoning,
                meta=dict(record.metadata),
                model="rules",
            )
        )

    def suppress_contact(self, session: Session, req: SuppressRequest) -> None:
        """Idempotent: the first reason recorded for an address in a brand stays."""
        _deal, contact, _pipeline, brand = load_deal_rows(session, req.deal_id)
        assert brand.id is not None
        if suppression_for(session, brand.id, contact.email) is None:
            session.add(
                Suppression(
                    brand_id=brand.id,
                    email=contact.email,
                    reason=SuppressionReason(req.reason),
                    detail=req.detail[:500],
                )
            )

    def draft_reply(self, session: Session, req: DraftReplyRequest) -> int:
        """A suggested answer waits for a person in the review queue; it is never sent by itself."""
        deal, contact, pipeline, brand = load_deal_rows(session, req.deal_id)
        assert brand.id is not None
        subject = req.reply.subject or "your message"
        if not subject.lower().startswith("re:"):
            subject = f"Re: {subject}"
        draft = EmailDraft(
            brand_id=brand.id,
            pipeline_id=pipeline.id,
            deal_id=deal.id,
            kind=DraftKind.reply,
            email_type="reply",
            recipients=[contact.email],
            subject=subject[:300],
            body=req.suggested_reply or "",
            status=DraftStatus.pending_review,
            ai_generated=req.suggested_reply is not None,
            review_note=req.review_note or "",
            # The contact's message it answers: its thread headers when a person sends it.
            outcome={"reply_event_id": req.reply.event_id},
        )
        session.add(draft)
        session.flush()
        assert draft.id is not None
        return draft.id


def _follow_deal(session: Session, deal: Deal) -> None:
    """A backlink opportunity follows its deal: rejected when the deal is lost (its page is
    no longer checked), placed when the deal is won (moved to Link Placed by a person)."""
    target = {DealStatus.lost: BacklinkStatus.rejected, DealStatus.won: BacklinkStatus.placed}
    status = target.get(DealStatus(deal.status))
    if status is None:
        return
    for opp in session.exec(
        select(BacklinkOpportunity).where(BacklinkOpportunity.deal_id == deal.id)
    ).all():
        # A link already placed stays placed: it is still on the page, whatever the deal.
        if opp.status != status and opp.status != BacklinkStatus.placed:
            opp.status = status
            session.add(opp)
