"""Deal activities that only touch the database: context, engagement, state mirror, decisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from dealpilot.deals.engagement import engagement_stats
from models import (
    AIDecisionLog,
    Brand,
    Contact,
    Deal,
    DraftStatus,
    EmailDraft,
    Pipeline,
    PipelineStage,
    Suppression,
    SuppressionReason,
    session_scope,
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
        raise ApplicationError(
            f"deal {deal_id} does not exist", type="InvalidDeal", non_retryable=True
        )
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
    """Activities over the deal tables. Each call is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="load_deal_context")
    def load_deal_context(self, deal_id: int) -> DealContext:
        with session_scope(self._engine) as session:
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

    @activity.defn(name="engagement_profile")
    def engagement_profile(self, deal_id: int) -> Engagement:
        with session_scope(self._engine) as session:
            _deal, contact, _pipeline, brand = load_deal_rows(session, deal_id)
            assert brand.id is not None
            stats = engagement_stats(session, brand_id=brand.id, email=contact.email)
        return Engagement(stats=stats, tier=engagement_tier(stats, activity_now()))

    @activity.defn(name="sync_deal")
    def sync_deal(self, snap: DealSnapshot) -> None:
        with session_scope(self._engine) as session:
            deal = session.get(Deal, snap.deal_id)
            if deal is None:
                raise ApplicationError("deal vanished", type="InvalidDeal", non_retryable=True)
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

    @activity.defn(name="record_decision")
    def record_decision(self, record: DecisionRecord) -> None:
        with session_scope(self._engine) as session:
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

    @activity.defn(name="suppress_contact")
    def suppress_contact(self, req: SuppressRequest) -> None:
        """Idempotent: the first reason recorded for an address in a brand stays."""
        with session_scope(self._engine) as session:
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

    @activity.defn(name="draft_reply")
    def draft_reply(self, req: DraftReplyRequest) -> int:
        """A suggested answer waits for a person in the review queue; it is never sent by itself."""
        with session_scope(self._engine) as session:
            deal, contact, pipeline, brand = load_deal_rows(session, req.deal_id)
            assert brand.id is not None
            subject = req.reply.subject or "your message"
            if not subject.lower().startswith("re:"):
                subject = f"Re: {subject}"
            draft = EmailDraft(
                brand_id=brand.id,
                pipeline_id=pipeline.id,
                deal_id=deal.id,
                email_type="reply",
                recipients=[contact.email],
                subject=subject[:300],
                body=req.suggested_reply or "",
                status=DraftStatus.pending_review,
                ai_generated=req.suggested_reply is not None,
            )
            session.add(draft)
            session.flush()
            assert draft.id is not None
            return draft.id


def activity_now() -> datetime:
    """The server's clock for this attempt: real time in production, skipped time in tests."""
    return activity.info().current_attempt_scheduled_time
