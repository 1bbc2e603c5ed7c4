"""AI decisions: each call goes through the engine and is logged (AIDecisionLog) with its cost.

The engine call is made outside any transaction; the rows it reads and the log it writes are
separate units of work run through the caller's `Transact`, so a slow model never holds a
database connection open, and a call once made is logged even if a later step fails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel
from sqlmodel import Session, col, select

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
)
from dealpilot.ai.prompt_rows import active_texts
from dealpilot.ai.reading import read_reply
from dealpilot.core import metrics
from dealpilot.deals.store import load_deal_rows
from models import AIDecisionLog, EmailLog, EmailStatus, PipelineStage, utcnow
from models.uow import Transact
from workflows.contracts import AnalyzeRequest, AnalyzeResult, ReplyRequest, ReplyVerdict

T = TypeVar("T", bound=BaseModel)
AUTOMATED_INTENTS = frozenset({"out_of_office", "auto_reply", "left_company", "bounce"})
# Acted on whatever the confidence: a stop request is honoured, a bounce is a bounce.
ALWAYS_ACTED_ON = frozenset({"unsubscribe", "bounce"})


class AIDecisions:
    def __init__(self, transact: Transact, ai: AIEngine, *, review_below: float = 0.5) -> None:
        self._transact = transact
        self._ai = ai
        self._review_below = review_below

    @property
    def model_name(self) -> str:
        return self._ai.model_name

    async def _engine(self, brand_id: int | None) -> AIEngine:
        """The engine with the prompt rows active now (the brand's overrides first), read
        before every call: an edit saved a moment ago is what the next call uses."""
        texts = await self._transact(lambda session: active_texts(session, brand_id))
        return self._ai.with_prompts(texts)

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
        except AIError:
            # Retryable or not is the error's class (activities/_errors.py maps it once).
            metrics.record_ai_failure(self._ai.model_name, decision_type)
            raise
        await self._log(result, decision_type, deal_id, brand_id, action, reasoning)
        return result.value

    async def _log(
        self,
        result: AIResult[T],
        decision_type: str,
        deal_id: int | None,
        brand_id: int | None,
        action: Callable[[T], str],
        reasoning: Callable[[T], str],
    ) -> None:
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
        await self._transact(lambda session: session.add(log))

    @staticmethod
    def _analysis_input(
        session: Session, req: AnalyzeRequest
    ) -> tuple[DealAnalysisInput, int | None]:
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

    async def analyze_deal(self, req: AnalyzeRequest) -> AnalyzeResult:
        data, brand_id = await self._transact(lambda session: self._analysis_input(session, req))
        engine = await self._engine(brand_id)
        value = await self._logged(
            lambda: engine.analyze_deal(data),
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

    @staticmethod
    def _mark_replied(session: Session, req: ReplyRequest) -> None:
        """Flags the email replied to (the one named, else the deal's latest sent one).
        Auto-replies and bounces are not replies from a person, so they are never flagged."""
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

    async def classify_reply(self, req: ReplyRequest, *, now: datetime) -> ReplyVerdict:
        """`now` stands in for a reply's unknown receipt time (the attempt's clock)."""
        reply = req.reply
        data = ReplyInput(
            text=reply.text,
            subject=reply.subject,
            from_email=reply.from_email,
            received_at=reply.received_at or now,
            headers=reply.headers,
        )
        brand_id = await self._transact(lambda session: load_deal_rows(session, req.deal_id)[3].id)
        try:  # the compliance net first: a stop request never reaches the engine
            result, by_net = await read_reply(await self._engine(brand_id), data)
        except AIError:
            metrics.record_ai_failure(self._ai.model_name, "classify_reply")
            raise
        value = result.value
        needs_person = (
            not by_net
            and value.intent not in ALWAYS_ACTED_ON
            and value.confidence < self._review_below
        )
        await self._log(
            result,
            "compliance_net" if by_net else "classify_reply",
            req.deal_id,
            brand_id,
            lambda v: f"{v.intent} (held for a person)" if needs_person else v.intent,
            lambda v: v.summary,
        )
        if value.intent not in AUTOMATED_INTENTS:
            await self._transact(lambda session: self._mark_replied(session, req))
        return ReplyVerdict(
            intent=value.intent,
            sentiment=value.sentiment,
            summary=value.summary,
            return_date=value.return_date,
            suggested_reply=value.suggested_reply,
            confidence=value.confidence,
            needs_person=needs_person,
            new_address=value.new_address,
        )

    async def compose_email(self, data: ComposeInput, deal_id: int | None = None) -> ComposedEmail:
        """A deal's email: logged with the deal's brand, written with its prompt overrides."""
        brand_id = None
        if deal_id is not None:
            brand_id = await self._transact(lambda session: load_deal_rows(session, deal_id)[3].id)
        engine = await self._engine(brand_id)
        return await self._logged(
            lambda: engine.compose_email(data),
            decision_type="compose_email",
            deal_id=deal_id,
            brand_id=brand_id,
            action=lambda v: "composed",
            reasoning=lambda v: f"subject: {v.subject}",
        )

    async def score_lead(self, data: LeadInput) -> LeadScore:
        engine = await self._engine(None)
        return await self._logged(
            lambda: engine.score_lead(data),
            decision_type="score_lead",
            deal_id=None,
            brand_id=None,
            action=lambda v: f"score:{v.score}",
            reasoning=lambda v: v.reasoning,
        )

    async def generate_backlink_pitch(self, data: BacklinkPitchInput) -> BacklinkPitch:
        engine = await self._engine(None)
        return await self._logged(
            lambda: engine.generate_backlink_pitch(data),
            decision_type="generate_backlink_pitch",
            deal_id=None,
            brand_id=None,
            action=lambda v: "pitched",
            reasoning=lambda v: v.outreach_angle,
        )

    async def smart_salutation(self, data: SalutationInput) -> Salutation:
        engine = await self._engine(None)
        return await self._logged(
            lambda: engine.smart_salutation(data),
            decision_type="smart_salutation",
            deal_id=None,
            brand_id=None,
            action=lambda v: v.greeting,
            reasoning=lambda v: f"from name={data.name!r} email={data.email!r}",
        )
