"""What each signal, reply and person's request does to a deal: pure functions.

Each takes the deal's memory (DealMemory, changed in place where nothing has to happen
first) and plain data, and returns the effects DealWorkflow carries out in order
(workflows.effects). Validators raise ApplicationError (the update's rejection) and change
nothing. No clock, no I/O, no Temporal calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from temporalio.exceptions import ApplicationError

from dealpilot.core.enums import (
    DealStatus,
    ReplyIntent,
    ReviewAction,
    StageKind,
    SuppressionReason,
)
from workflows import rules
from workflows.autopilot import AUTOMATIC, is_closed, stage_of
from workflows.contracts import (
    REVIEW_ACTIONS,
    BounceEvent,
    CloseRequest,
    DealContext,
    EngagementEvent,
    MoveStageRequest,
    NextActionRequest,
    ReplyEvent,
    ReplyVerdict,
    ReviewDecision,
    ReviewSettlement,
)
from workflows.deal_memory import DealMemory, note
from workflows.effects import (
    CloseLost,
    DiscardReview,
    DraftReply,
    Effect,
    EnterStage,
    Record,
    RefreshEngagement,
    Schedule,
    SendReviewed,
    Suppress,
    Sync,
)

SOFT_BOUNCE_LIMIT = 3
OUT_OF_OFFICE_DEFAULT = timedelta(days=7)  # no return date in the auto-reply

# --- signals ---------------------------------------------------------------------------


def on_unsubscribed(m: DealMemory, now: datetime) -> list[Effect]:
    note(m, now, "status", "Unsubscribed")
    return [
        Suppress(SuppressionReason.unsubscribed, "unsubscribe link"),
        CloseLost("unsubscribed", "unsubscribed"),
    ]


def on_complained(m: DealMemory, now: datetime) -> list[Effect]:
    note(m, now, "status", "Marked our email as spam")
    return [
        Suppress(SuppressionReason.complaint, "spam complaint"),
        CloseLost("spam complaint", "complaint"),
    ]


def on_bounced(m: DealMemory, bounce: BounceEvent, now: datetime) -> list[Effect]:
    """A hard bounce closes the deal; soft ones only from the third on."""
    if not bounce.hard:
        m.soft_bounces += 1
        note(m, now, "bounce", f"Soft bounce {m.soft_bounces}: {bounce.reason}")
        if m.soft_bounces < SOFT_BOUNCE_LIMIT:
            return []
    note(m, now, "bounce", f"Bounced: {bounce.reason}")
    return [
        Suppress(SuppressionReason.hard_bounce, bounce.reason),
        CloseLost(f"bounced: {bounce.reason}", "bounce"),
    ]


def on_opened(m: DealMemory, event: EngagementEvent, now: datetime) -> list[Effect]:
    if event.machine:  # no one read it: the timeline says so, the open count stays
        note(m, now, "open", "Fetched by Apple Mail Privacy Protection (a machine open)")
        return [RefreshEngagement()]
    m.opens += 1
    note(m, now, "open", "Opened an email" + (" (scanner)" if event.is_bot else ""))
    return [RefreshEngagement()]


def on_clicked(m: DealMemory, event: EngagementEvent, now: datetime) -> list[Effect]:
    m.clicks += 1
    note(m, now, "click", f"Clicked {event.url or 'a link'}")
    return [RefreshEngagement()]


def on_pause(m: DealMemory, reason: str, now: datetime) -> list[Effect]:
    if m.status == DealStatus.active:
        m.status = DealStatus.paused
        note(m, now, "status", f"Paused: {reason or 'by an operator'}")
    return []


def on_resume(m: DealMemory, now: datetime) -> list[Effect]:
    """Only a paused deal resumes; an action that fell due meanwhile is due at once."""
    if m.status != DealStatus.paused:
        return []
    m.status, m.paused_until = DealStatus.active, None
    note(m, now, "status", "Resumed")
    if m.next_action_at is not None and m.next_action_at < now:
        return [Schedule(now, m.next_action_reason)]
    return []


# --- replies ---------------------------------------------------------------------------


def on_reply(
    m: DealMemory,
    ctx: DealContext,
    reply: ReplyEvent,
    verdict: ReplyVerdict,
    now: datetime,
    *,
    refresh_tier: bool,
) -> list[Effect]:
    """A classified reply (rules.reply_outcome says what it does). `refresh_tier`: score
    engagement again first (a reply makes the contact "engaged"; patched in later)."""
    if verdict.needs_person:
        return _hold_for_person(m, reply, verdict, now, refresh_tier=refresh_tier)
    outcome = rules.reply_outcome(verdict.intent)
    effects: list[Effect] = []
    if outcome.counts_as_reply:
        m.replies += 1
        if refresh_tier:
            effects.append(RefreshEngagement())
    note(m, now, "reply", f"Replied ({verdict.intent}, {verdict.sentiment}): {verdict.summary}")
    m.last_decision = f"reply classified {verdict.intent}"
    if outcome.pause_until_return:
        return_date = verdict.return_date or (now + OUT_OF_OFFICE_DEFAULT).date()
        m.paused_until = rules.ooo_resume_at(return_date, ctx.window)
        m.status = DealStatus.paused
        note(m, now, "status", f"Out of office until {return_date:%d %b %Y}: paused")
        resumes = f"resumes {m.paused_until:%Y-%m-%d %H:%M} UTC"
        return [*effects, Record("out_of_office", "paused", resumes)]
    if outcome.suppress is not None:
        detail = "asked by reply" if verdict.intent == ReplyIntent.unsubscribe else verdict.summary
        effects.append(Suppress(SuppressionReason(outcome.suppress), detail))
    if outcome.move_to == "lost":
        return [*effects, CloseLost(outcome.close_reason, outcome.decision)]
    if outcome.move_to == "reply":
        stage = stage_of(ctx.stages, m.stage_id)
        target = rules.reply_stage(ctx.stages)
        if target is not None and stage.kind in AUTOMATIC:
            effects.append(EnterStage(target, f"reply: {verdict.intent}"))
    if outcome.stop_sequence:
        effects.append(Schedule(None, "reply needs a person"))
    if outcome.draft_reply:
        effects.append(DraftReply(reply, verdict.suggested_reply))
    return effects


def _hold_for_person(
    m: DealMemory, reply: ReplyEvent, verdict: ReplyVerdict, now: datetime, *, refresh_tier: bool
) -> list[Effect]:
    """A reading below the review threshold: no stage move, no close, no email; the deal is
    paused with the reading in its timeline and on a draft answer in the review queue.
    (Only verdicts made since needs_person exists carry it: recorded histories never do.)"""
    reading = (
        f"read as {verdict.intent} at confidence {verdict.confidence:.2f}, below the "
        f"review threshold: {verdict.summary}"
    )
    m.replies += 1
    note(m, now, "reply", f"Replied ({reading})")
    m.last_decision = f"reply held for a person ({verdict.intent}?)"
    if m.status == DealStatus.active:
        m.status, m.paused_until = DealStatus.paused, None
        note(m, now, "status", "Paused: a person should read the reply")
    effects: list[Effect] = [RefreshEngagement()] if refresh_tier else []
    return [
        *effects,
        Record("reply_review", "held for a person", reading),
        Schedule(None, "reply needs a person"),
        DraftReply(reply, verdict.suggested_reply, note=f"Low-confidence reading: {reading}"),
    ]


# --- updates: validation ---------------------------------------------------------------


def send_now_target(
    m: DealMemory, stages: Sequence[rules.StageInfo]
) -> tuple[rules.StageInfo, bool]:
    """The email a person's "send now" sends, the one the preview shows: the current stage's
    send-on-enter email not sent yet (True), else the next sequence stage's (False). Raises
    (the update's rejection, saying why) when nothing can be sent now."""
    require_open(m)
    if m.status == DealStatus.paused:
        raise ApplicationError("the deal is paused: resume it first", type="DealPaused")
    if m.review is not None:
        raise ApplicationError(
            f"the {m.review.stage_name} email (draft {m.review.draft_id}) waits in the review "
            "queue: approve it there",
            type="ReviewPending",
        )
    current = stage_of(stages, m.stage_id)
    if m.send_on_enter_pending:
        return current, True
    nxt = rules.next_sequence_stage(stages, m.stage_id)
    if nxt is None:
        raise ApplicationError(
            f"no automatic email follows {current.name}: a person takes it from here "
            "(move the deal or write to the contact)",
            type="NoNextEmail",
        )
    return nxt, False


def require_open(m: DealMemory) -> None:
    if is_closed(m):
        raise ApplicationError(f"the deal is already {m.status}", type="DealClosed")


def resolve_stage(ctx: DealContext, req: MoveStageRequest) -> rules.StageInfo:
    """The stage a move names, by id, slug or name (case-insensitive)."""
    for stage in ctx.stages:
        if req.stage_id is not None and stage.id == req.stage_id:
            return stage
        if req.stage is not None and req.stage.lower() in (stage.slug, stage.name.lower()):
            return stage
    wanted = req.stage_id if req.stage_id is not None else req.stage
    raise ApplicationError(
        f"stage {wanted!r} is not a stage of the pipeline {ctx.pipeline_name!r}",
        type="InvalidStage",
    )


def check_forward(m: DealMemory, ctx: DealContext, stage: rules.StageInfo) -> None:
    """A forward-only move (MoveStageRequest.forward_only) to `stage` from where the deal is."""
    current = next((s for s in ctx.stages if s.id == m.stage_id), None)
    if current is None or stage.order > current.order:
        return
    if stage.id == current.id:
        raise ApplicationError(f"already at {current.name}", type="AlreadyAtStage")
    raise ApplicationError(
        f"ignored: already at {current.name}, past {stage.name}", type="NotForward"
    )


def require_won_stage(stages: Sequence[rules.StageInfo]) -> rules.StageInfo:
    stage = rules.won_stage(stages)
    if stage is None:
        raise ApplicationError("this pipeline has no won stage", type="InvalidStage")
    return stage


def check_next_action(req: NextActionRequest) -> None:
    if req.at.tzinfo is None:
        raise ApplicationError("next action time needs a time zone", type="InvalidInput")


def check_review(m: DealMemory, decision: ReviewDecision) -> None:
    review = m.review
    if decision.action not in REVIEW_ACTIONS:
        raise ApplicationError(f"unknown review action {decision.action!r}", type="InvalidInput")
    if review is None:
        raise ApplicationError(
            "no email of this deal is waiting for review", type="NoPendingReview"
        )
    if review.draft_id != decision.draft_id:
        raise ApplicationError(
            f"draft {decision.draft_id} is not the email waiting for review "
            f"(draft {review.draft_id} is)",
            type="NotPendingReview",
        )
    if review.approved:
        raise ApplicationError(
            f"draft {decision.draft_id} was already approved", type="AlreadyReviewed"
        )
    if decision.action == ReviewAction.edit and not (
        (decision.subject or "").strip() and (decision.body or "").strip()
    ):
        raise ApplicationError("an edit needs a subject and a body", type="InvalidInput")


def check_reviewable(m: DealMemory, decision: ReviewDecision) -> None:
    """A won deal's welcome email can still be reviewed; a lost deal's cannot."""
    if m.status == DealStatus.lost:
        raise ApplicationError("the deal is already lost", type="DealClosed")
    check_review(m, decision)


# --- updates: what they do -------------------------------------------------------------


def move_stage(stage: rules.StageInfo, req: MoveStageRequest) -> list[Effect]:
    lost_reason = (req.reason or "moved to a lost stage") if stage.kind == StageKind.lost else None
    return [
        DiscardReview(f"moved to {stage.name}"),
        EnterStage(stage, req.reason or f"moved by {req.actor}", lost_reason),
        Record("move_stage", f"moved_to:{stage.slug}", req.reason or req.actor),
        Sync(),
    ]


def mark_won(stages: Sequence[rules.StageInfo], req: CloseRequest) -> list[Effect]:
    stage = require_won_stage(stages)
    return [
        DiscardReview("marked won"),
        EnterStage(stage, req.reason or f"marked won by {req.actor}"),
        Record("mark_won", "won", req.reason or req.actor),
        Sync(),
    ]


def mark_lost(req: CloseRequest) -> list[Effect]:
    return [CloseLost(req.reason or f"marked lost by {req.actor}", "mark_lost")]


def set_next_action(m: DealMemory, req: NextActionRequest, now: datetime) -> list[Effect]:
    note(m, now, "wait", f"Next action set to {req.at:%Y-%m-%d %H:%M} UTC: {req.reason}")
    return [Schedule(req.at, req.reason), Sync()]


def review_settlement(m: DealMemory, decision: ReviewDecision) -> ReviewSettlement:
    return ReviewSettlement(
        deal_id=m.deal_id,
        draft_id=decision.draft_id,
        action=decision.action,
        subject=decision.subject,
        body=decision.body,
        note=decision.note,
        reviewer=decision.reviewer,
    )


def on_review_decision(m: DealMemory, decision: ReviewDecision, now: datetime) -> list[Effect]:
    """A person's decision on the email held for review (already settled on its draft row).
    Reject: nothing is sent and an open deal pauses; approve/edit: it goes out."""
    review = m.review
    assert review is not None
    who = decision.reviewer or "a person"
    why = f": {decision.note}" if decision.note else ""
    if decision.action == ReviewAction.reject:
        m.review = None
        record = Record("review", "rejected", decision.note or f"rejected by {who}")
        if m.status == DealStatus.won:
            note(m, now, "review", f"{review.stage_name} email rejected by {who}{why}")
            return [record]
        m.status, m.paused_until = DealStatus.paused, None
        note(
            m,
            now,
            "review",
            f"{review.stage_name} email rejected by {who}{why}. Paused: resume, "
            "move or close the deal",
        )
        # Due at once when an operator resumes: the autopilot drafts anew.
        return [record, Schedule(now, "email rejected in review")]
    review.approved = True
    if decision.action == ReviewAction.edit:
        review.subject = decision.subject or review.subject
    verb = "edited and approved" if decision.action == ReviewAction.edit else "approved"
    note(m, now, "review", f"{review.stage_name} email {verb} by {who}{why}")
    return [SendReviewed()]
