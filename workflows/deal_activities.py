"""The activities a deal calls, each with its timeouts, retry policy and the summary a person
reads in the Temporal Web UI. Workflow code: no I/O here, only activity invocations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows import rules
from workflows.contracts import (
    AnalyzeRequest,
    AnalyzeResult,
    DealContext,
    DealSnapshot,
    DecisionRecord,
    DraftReplyRequest,
    Engagement,
    ReplyEvent,
    ReplyRequest,
    ReplyVerdict,
    ReviewHold,
    ReviewSettlement,
    SendOutcome,
    SendRequest,
    SequenceStepPlan,
    SuppressRequest,
)
from workflows.deal_memory import DealMemory

# The async activities (AI calls, sends) heartbeat while they run (activities/_liveness.py,
# every 2 s), so a worker that dies is noticed in seconds and the attempt retried elsewhere,
# whatever their start-to-close timeout (minutes: those bound a live but stuck attempt). The
# sync database activities are bounded by their short start-to-close (DB_TIMEOUT) instead.
LIVENESS = timedelta(seconds=10)
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=15),
    non_retryable_error_types=["PermanentMailError", "InvalidDeal"],
)
AI_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=8,
    non_retryable_error_types=["AINonRetryableError"],
)
DB_TIMEOUT = timedelta(seconds=30)

# The short, idempotent database reads and writes of a wake (load the context, score the
# engagement, save the row) run as local activities: in the worker, inside the workflow task
# that needs them, recorded as markers, with no round trip through the server's task queues.
# A wake then costs three workflow tasks (context + AI, send, save + sleep) instead of six.
# Deals started before this change replay their recorded activities (no marker: the patch
# says no for the whole run), so both histories replay.
LOCAL_DB = "local-db-activities"
# A wake in the workflow task that loaded the deal's context uses it (workflows.deal `_act`).
FIRST_WAKE_CONTEXT = "first-wake-context"
T = TypeVar("T")


async def _db(name: str, args: list[Any], result_type: type[T] | None, summary: str) -> T:
    """A database activity of the wake: local where this run took the patch. A local activity
    runs on the worker's clock, not the server's: what needs the time is given `workflow.now()`."""
    run = (
        workflow.execute_local_activity if workflow.patched(LOCAL_DB) else workflow.execute_activity
    )
    result: T = await run(
        name,
        args=args,
        result_type=result_type,
        start_to_close_timeout=DB_TIMEOUT,
        retry_policy=DB_RETRY,
        summary=summary,
    )
    return result


async def load_context(deal_id: int) -> DealContext:
    return await _db(
        "load_deal_context",
        [deal_id],
        DealContext,
        "load the deal, contact, brand window and stages",
    )


async def engagement_profile(deal_id: int) -> Engagement:
    # Before the patch, the activity read the attempt's (server) clock, as it still does for
    # runs that replay without it: their recorded activities were called with the id alone.
    args: list[Any] = [deal_id, workflow.now()] if workflow.patched(LOCAL_DB) else [deal_id]
    return await _db("engagement_profile", args, Engagement, "score engagement")


async def analyze(m: DealMemory, engagement: Engagement, days_in_stage: int) -> AnalyzeResult:
    result: AnalyzeResult = await workflow.execute_activity(
        "analyze_deal",
        AnalyzeRequest(
            deal_id=m.deal_id,
            tier=engagement.tier,
            stats=engagement.stats,
            days_in_stage=days_in_stage,
            approach_note=m.approach_note,
        ),
        result_type=AnalyzeResult,
        start_to_close_timeout=timedelta(minutes=2),
        heartbeat_timeout=LIVENESS,
        retry_policy=AI_RETRY,
        summary=f"AI: what next for {m.contact_email} at {m.stage_name}?",
    )
    return result


async def send_email(
    m: DealMemory,
    stage: rules.StageInfo,
    *,
    draft_id: int | None = None,
    step: SequenceStepPlan | None = None,
) -> SendOutcome:
    """The deal's next step (`m.steps + 1`) is the idempotency key: a retry never sends twice.
    With `draft_id`, the draft's subject/body go out instead of the stage's email; with `step`,
    the email sequence's step does."""
    result: SendOutcome = await workflow.execute_activity(
        "send_stage_email",
        SendRequest(
            deal_id=m.deal_id,
            stage_id=stage.id,
            step=m.steps + 1,
            variant=rules.ab_variant(m.deal_id),
            approach_note=m.approach_note,
            draft_id=draft_id,
            tier=m.tier,
            sequence_step=step,
        ),
        result_type=SendOutcome,
        start_to_close_timeout=timedelta(minutes=3),
        heartbeat_timeout=LIVENESS,
        retry_policy=SEND_RETRY,
        summary=f"send {stage.name} to {m.contact_email}",
    )
    return result


async def send_reply(m: DealMemory, stage: rules.StageInfo, draft_id: int) -> SendOutcome:
    """Suggested reply `draft_id`, answered in the contact's thread; once-only per draft."""
    result: SendOutcome = await workflow.execute_activity(
        "send_stage_email",
        SendRequest(
            deal_id=m.deal_id,
            stage_id=stage.id,
            step=m.steps,
            variant="",
            draft_id=draft_id,
            reply=True,
        ),
        result_type=SendOutcome,
        start_to_close_timeout=timedelta(minutes=3),
        heartbeat_timeout=LIVENESS,
        retry_policy=SEND_RETRY,
        summary=f"send a reply to {m.contact_email}",
    )
    return result


async def hold_for_review(
    m: DealMemory, stage: rules.StageInfo, step: SequenceStepPlan | None = None
) -> ReviewHold:
    """Renders the email `send_email` would send at this step and stores it as a draft for a
    person (human review mode); nothing is sent."""
    result: ReviewHold = await workflow.execute_activity(
        "hold_email_for_review",
        SendRequest(
            deal_id=m.deal_id,
            stage_id=stage.id,
            step=m.steps + 1,
            variant=rules.ab_variant(m.deal_id),
            approach_note=m.approach_note,
            tier=m.tier,
            sequence_step=step,
        ),
        result_type=ReviewHold,
        start_to_close_timeout=timedelta(minutes=3),
        heartbeat_timeout=LIVENESS,
        retry_policy=AI_RETRY,
        summary=f"draft {stage.name} for {m.contact_email} into the review queue",
    )
    return result


async def settle_review(m: DealMemory, settlement: ReviewSettlement) -> None:
    await workflow.execute_activity(
        "settle_review_draft",
        settlement,
        start_to_close_timeout=DB_TIMEOUT,
        retry_policy=DB_RETRY,
        summary=f"review draft {settlement.draft_id}: {settlement.action}",
    )


async def classify_reply(m: DealMemory, reply: ReplyEvent) -> ReplyVerdict:
    result: ReplyVerdict = await workflow.execute_activity(
        "classify_reply",
        ReplyRequest(deal_id=m.deal_id, reply=reply),
        result_type=ReplyVerdict,
        start_to_close_timeout=timedelta(minutes=2),
        heartbeat_timeout=LIVENESS,
        retry_policy=AI_RETRY,
        summary=f"AI: classify the reply from {m.contact_email}",
    )
    return result


async def draft_reply(
    m: DealMemory, reply: ReplyEvent, suggestion: str | None, note: str | None = None
) -> None:
    await workflow.execute_activity(
        "draft_reply",
        DraftReplyRequest(
            deal_id=m.deal_id, reply=reply, suggested_reply=suggestion, review_note=note
        ),
        start_to_close_timeout=DB_TIMEOUT,
        retry_policy=DB_RETRY,
        summary="draft a suggested answer for a person",
    )


async def suppress(m: DealMemory, reason: str, detail: str) -> None:
    await workflow.execute_activity(
        "suppress_contact",
        SuppressRequest(deal_id=m.deal_id, reason=reason, detail=detail),
        start_to_close_timeout=DB_TIMEOUT,
        retry_policy=DB_RETRY,
        summary=f"suppress {m.contact_email} ({reason})",
    )


async def record_decision(m: DealMemory, decision_type: str, action: str, reasoning: str) -> None:
    await workflow.execute_activity(
        "record_decision",
        DecisionRecord(
            deal_id=m.deal_id,
            decision_type=decision_type,
            action_taken=action,
            reasoning=reasoning,
            metadata={"stage": m.stage_name, "tier": m.tier},
        ),
        start_to_close_timeout=DB_TIMEOUT,
        retry_policy=DB_RETRY,
        summary=f"log decision {decision_type}",
    )


async def sync(m: DealMemory) -> None:
    """Mirrors the workflow's state onto the deal row (SQL reports never ask Temporal)."""
    await _db(
        "sync_deal",
        [
            DealSnapshot(
                deal_id=m.deal_id,
                stage_id=m.stage_id,
                status=m.status,
                engagement_tier=m.tier,
                next_action_at=m.next_action_at,
                next_action_reason=m.next_action_reason,
                stage_entered_at=m.stage_entered_at,
                lost_reason=m.lost_reason,
                ai_notes=m.approach_note,
            )
        ],
        None,
        f"save: {m.stage_name}, {m.status}",
    )
