"""AI activities: each call goes through the engine and is logged (AIDecisionLog) with its cost."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import col, select
from temporalio import activity

from dealpilot.ai import (
    AIEngine,
    AIError,
    AIResult,
    BacklinkPitch,
    BacklinkPitchInput,
    ComposedEmail,
    ComposeInput,
    DealAnalysisInput,
    LeadInput,
    LeadScore,
    ReplyInput,
    Salutation,
    SalutationInput,
    to_application_error,
)
from dealpilot.core import metrics
from dealpilot.deals.store import load_deal_rows
from models import AIDecisionLog, EmailLog, EmailStatus, PipelineStage, session_scope, utcnow
from workflows.contracts import AnalyzeRequest, AnalyzeResult, ReplyRequest, ReplyVerdict

T = TypeVar("T", bound=BaseModel)
AUTOMATED_INTENTS = frozenset({"out_of_office", "bounce"})


class AIActivities:
    def __init__(self, engine: Engine, ai: AIEngine) -> None:
        self._engine = engine
        self._ai = ai

    async def _logged(
        self,
        call: Callable[[], Awaitable[AIResult[T]]],
        *,
        decision_type: str,
        deal_id: int | None,
        brand_id: int | None,
        action: Callable[[T], str],
        reasoning: Callable[[T], str],
    ) -> T:
        try:
            result = await call()
        except AIError as exc:
            metrics.record_ai_failure(self._ai.model_name, decision_type)
            # Typed for Temporal: retryable or not is decided here, never by message text.
            raise to_application_error(exc) from exc
        metrics.record_ai_call(
            result.model, decision_type, result.prompt_tokens, result.completion_tokens
        )
        value = result.value
        log = AIDecisionLog(
            brand_id=brand_id,
            deal_id=deal_id,
            decision_type=decision_type,
            action_taken=action(value)[:100],
            reasoning=reasoning(value),
            meta=value.model_dump(mode="json"),
            model=result.model,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            latency_ms=result.latency_ms,
        )
        await asyncio.to_thread(self._store, log)
        return value

    def _store(self, row: AIDecisionLog) -> None:
        with session_scope(self._engine) as session:
            session.add(row)

    def _analysis_input(self, req: AnalyzeRequest) -> tuple[DealAnalysisInput, int | None]:
        with session_scope(self._engine) as session:
            deal, contact, pipeline, brand = load_deal_rows(session, req.deal_id)
            stage = session.get(PipelineStage, deal.stage_id)
            assert stage is not None
            stats = req.stats
            return (
                DealAnalysisInput(
                    brand_name=brand.name,
                    pipeline_name=pipeline.name,
                    pipeline_type=str(pipeline.pipeline_type),
                    stage_name=stage.name,
                    stage_kind=str(stage.kind),
                    contact_name=contact.name or None,
                    contact_company=contact.company or None,
                    contact_email=contact.email,
                    engagement_tier=req.tier,
                    emails_sent=stats.emails_sent,
                    emails_opened=stats.emails_opened,
                    emails_clicked=stats.emails_clicked,
                    replies=stats.replies,
                    consecutive_unopened=stats.consecutive_unopened,
                    days_in_stage=req.days_in_stage,
                    notes=req.approach_note or deal.ai_notes or None,
                ),
                brand.id,
            )

    @activity.defn(name="analyze_deal")
    async def analyze_deal(self, req: AnalyzeRequest) -> AnalyzeResult:
        data, brand_id = await asyncio.to_thread(self._analysis_input, req)
        value = await self._logged(
            lambda: self._ai.analyze_deal(data),
            decision_type="analyze_deal",
            deal_id=req.deal_id,
            brand_id=brand_id,
            action=lambda v: v.action,
            reasoning=lambda v: v.reasoning,
        )
        return AnalyzeResult(
            action=value.action,
            reasoning=value.reasoning,
            wait_days=value.wait_days,
            approach_note=value.approach_note,
            model=self._ai.model_name,
        )

    def _mark_replied(self, req: ReplyRequest) -> None:
        """Flags the email replied to (the one named, else the deal's latest sent one).
        Auto-replies and bounces are not replies from a person, so they are never flagged."""
        with session_scope(self._engine) as session:
            log = session.get(EmailLog, req.reply.email_log_id) if req.reply.email_log_id else None
            if log is None or log.deal_id != req.deal_id:
                log = session.exec(
                    select(EmailLog)
                    .where(EmailLog.deal_id == req.deal_id, EmailLog.status == EmailStatus.sent)
                    .order_by(col(EmailLog.sent_at).desc())
                ).first()
            if log is not None:
                log.replied = True
                log.replied_at = req.reply.received_at or utcnow()
                log.reply_content = req.reply.text[:20000]
                session.add(log)

    @activity.defn(name="classify_reply")
    async def classify_reply(self, req: ReplyRequest) -> ReplyVerdict:
        reply = req.reply
        data = ReplyInput(
            text=reply.text,
            subject=reply.subject,
            from_email=reply.from_email,
            received_at=reply.received_at or activity.info().current_attempt_scheduled_time,
        )
        brand_id = await asyncio.to_thread(self._brand_of, req.deal_id)
        value = await self._logged(
            lambda: self._ai.classify_reply(data),
            decision_type="classify_reply",
            deal_id=req.deal_id,
            brand_id=brand_id,
            action=lambda v: v.intent,
            reasoning=lambda v: v.summary,
        )
        if value.intent not in AUTOMATED_INTENTS:
            await asyncio.to_thread(self._mark_replied, req)
        return ReplyVerdict(
            intent=value.intent,
            sentiment=value.sentiment,
            summary=value.summary,
            return_date=value.return_date,
            suggested_reply=value.suggested_reply,
        )

    def _brand_of(self, deal_id: int) -> int | None:
        with session_scope(self._engine) as session:
            return load_deal_rows(session, deal_id)[3].id

    @activity.defn(name="compose_email")
    async def compose_email(self, data: ComposeInput, deal_id: int | None = None) -> ComposedEmail:
        return await self._logged(
            lambda: self._ai.compose_email(data),
            decision_type="compose_email",
            deal_id=deal_id,
            brand_id=None,
            action=lambda v: "composed",
            reasoning=lambda v: f"subject: {v.subject}",
        )

    @activity.defn(name="score_lead")
    async def score_lead(self, data: LeadInput) -> LeadScore:
        return await self._logged(
            lambda: self._ai.score_lead(data),
            decision_type="score_lead",
            deal_id=None,
            brand_id=None,
            action=lambda v: f"score:{v.score}",
            reasoning=lambda v: v.reasoning,
        )

    @activity.defn(name="generate_backlink_pitch")
    async def generate_backlink_pitch(self, data: BacklinkPitchInput) -> BacklinkPitch:
        return await self._logged(
            lambda: self._ai.generate_backlink_pitch(data),
            decision_type="generate_backlink_pitch",
            deal_id=None,
            brand_id=None,
            action=lambda v: "pitched",
            reasoning=lambda v: v.outreach_angle,
        )

    @activity.defn(name="smart_salutation")
    async def smart_salutation(self, data: SalutationInput) -> Salutation:
        return await self._logged(
            lambda: self._ai.smart_salutation(data),
            decision_type="smart_salutation",
            deal_id=None,
            brand_id=None,
            action=lambda v: v.greeting,
            reasoning=lambda v: f"from name={data.name!r} email={data.email!r}",
        )
