"""What a deal does when its time comes, and what a send does to it: pure functions.

Each takes the deal's memory (DealMemory, changed in place where nothing has to happen
first) and plain data (the DealContext, an activity's result, `now`) and returns the effects
DealWorkflow carries out in order (workflows.effects). No clock, no I/O, no Temporal calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from temporalio.exceptions import ApplicationError

from dealpilot.core.enums import (
    AutoAction,
    DealAction,
    DealStatus,
    EngagementTier,
    SendStatus,
    StageKind,
    SuppressionReason,
)
from workflows import cadence, rules, sequences
from workflows.contracts import AnalyzeResult, DealContext, Engagement, ReviewHold, SendOutcome
from workflows.deal_memory import DealMemory, PendingReview, note
from workflows.effects import (
    AskAI,
    CloseLost,
    Effect,
    EnterStage,
    Record,
    Schedule,
    SendEntryEmail,
    SendInto,
    SendOnEnter,
    SendReviewed,
    Suppress,
    Sync,
)

DEFAULT_WAIT_DAYS = 2
AUTOMATIC = (StageKind.entry, StageKind.sequence)  # stages the autopilot sends from


def days(n: int | None) -> timedelta:
    return timedelta(days=n or 0)


def stage_of(stages: Sequence[rules.StageInfo], stage_id: int) -> rules.StageInfo:
    for stage in stages:
        if stage.id == stage_id:
            return stage
    raise ApplicationError(f"stage {stage_id} vanished from the pipeline", type="InvalidDeal")


# --- the deal's clock ------------------------------------------------------------------


def is_closed(m: DealMemory) -> bool:
    return m.status in (DealStatus.won, DealStatus.lost)


def is_finished(m: DealMemory) -> bool:
    """Closed with nothing left to send: a won stage's welcome email (or its review) still
    goes out before the workflow ends."""
    return is_closed(m) and not m.send_on_enter_pending and m.review is None


def is_due(m: DealMemory, now: datetime, *, nudged: bool) -> bool:
    if nudged:
        return True
    if m.status == DealStatus.paused:
        return m.paused_until is not None and now >= m.paused_until
    return m.next_action_at is not None and now >= m.next_action_at


def wake_time(m: DealMemory) -> datetime | None:
    """When the sleeping deal wakes by itself (None: only a signal, an update or a nudge)."""
    if m.status == DealStatus.paused:
        return m.paused_until
    return m.next_action_at


def fresh_memory(
    ctx: DealContext, stage: rules.StageInfo, draft_id: int | None, now: datetime
) -> DealMemory:
    first_wait = stage.days_until_followup if stage.kind in AUTOMATIC else None
    if draft_id is not None and first_wait is not None:
        first_wait = 0  # a person pressed send: their email goes at once
    return DealMemory(
        deal_id=ctx.deal_id,
        brand=ctx.brand_slug,
        pipeline=ctx.pipeline_name,
        contact_email=ctx.contact_email,
        contact_name=ctx.contact_name,
        stage_id=stage.id,
        stage_name=stage.name,
        status=DealStatus.paused if ctx.status == DealStatus.paused else DealStatus.active,
        tier=EngagementTier.new,
        stage_entered_at=now,
        next_action_at=None if first_wait is None else now + days(first_wait),
        next_action_reason="first email" if first_wait is not None else "waiting for a person",
        send_on_enter_pending=stage.auto_action == AutoAction.send_on_enter,
        first_draft_id=draft_id,
    )


# --- stage changes ---------------------------------------------------------------------


def enter_stage(
    m: DealMemory,
    stages: Sequence[rules.StageInfo],
    stage: rules.StageInfo,
    now: datetime,
    *,
    reason: str,
    lost_reason: str | None = None,
    by_tier: bool = False,
) -> list[Effect]:
    """`by_tier`: the follow-up's wait follows the deal's tier (workflows.cadence)."""
    m.stage_id, m.stage_name, m.stage_entered_at = stage.id, stage.name, now
    note(m, now, "stage", f"Moved to {stage.name} ({reason})")
    m.send_on_enter_pending = False
    effects: list[Effect] = []
    if stage.kind == StageKind.won:
        m.status, m.lost_reason = DealStatus.won, ""
        effects.append(Schedule(None, "won"))
        if stage.auto_action == AutoAction.send_on_enter:  # e.g. "You're an Active Lister"
            m.send_on_enter_pending = True
            effects.append(Schedule(now, f"{stage.name} email"))
    elif stage.kind == StageKind.lost:
        m.status = DealStatus.lost
        effects.append(Schedule(None, "closed"))
    elif stage.kind in AUTOMATIC:
        effects.append(cadence.follow_up(m, stages, stage, now, by_tier=by_tier))
    else:
        effects.append(Schedule(None, "waiting for a person"))
        if stage.auto_action in (AutoAction.send_on_enter, AutoAction.draft_on_enter):
            # draft_on_enter: the email is drafted now and waits for a person (deal_runtime).
            m.send_on_enter_pending = True
            effects.append(Schedule(now, f"{stage.name} email"))
    if lost_reason is not None:
        m.lost_reason = lost_reason
    return effects


def close_lost(
    m: DealMemory, stages: Sequence[rules.StageInfo], now: datetime, close: CloseLost
) -> list[Effect]:
    """The memory side of CloseLost (its review draft is discarded before this). A pipeline
    without a lost stage (an operator's, or one seeded before it had one) still closes: the
    deal stays where it is, lost."""
    lost = _lost_target(stages, close.stage_id)
    m.lost_reason = close.reason
    if lost is None:
        m.send_on_enter_pending = False
        note(m, now, "status", f"Closed as lost in {m.stage_name} ({close.reason})")
        effects: list[Effect] = [Schedule(None, "closed")]
    else:
        effects = enter_stage(m, stages, lost, now, reason=close.reason)
    m.status = DealStatus.lost
    return [*effects, Record(close.decision, "closed_lost", close.reason), Sync()]


def _lost_target(stages: Sequence[rules.StageInfo], stage_id: int | None) -> rules.StageInfo | None:
    if stage_id is not None:
        return next((s for s in stages if s.id == stage_id), None)
    try:
        return rules.lost_stage(stages)
    except LookupError:
        return None


# --- the deal's time came --------------------------------------------------------------


def wake_up(m: DealMemory, now: datetime) -> None:
    """Before acting: a pause that ran out ends."""
    if m.status == DealStatus.paused:
        m.status, m.paused_until = DealStatus.active, None
        note(m, now, "status", "Resumed after the pause ended")


def when_due(
    m: DealMemory, ctx: DealContext, engagement: Engagement, now: datetime
) -> list[Effect]:
    """Autopilot rules 1-5 for a deal whose time came (context and engagement just loaded)."""
    stage = stage_of(ctx.stages, m.stage_id)
    if m.send_on_enter_pending:
        return [SendOnEnter(stage)]
    if m.review is not None:
        if m.review.approved:  # the window, cap or gap held it back
            return [SendReviewed(), Sync()]
        return [Schedule(None, "waiting for review"), Sync()]
    if stage.kind not in AUTOMATIC:
        return [Schedule(None, "waiting for a person"), Sync()]
    if m.one_off and m.first_draft_id is None:  # its one email went: nothing follows
        return [Schedule(None, cadence.ONE_OFF_REASON), Sync()]

    guard = rules.autopilot_guard(
        now=now,
        window=ctx.window,
        deal_id=m.deal_id,
        contact_timezone=ctx.contact_timezone,
        suppressed=ctx.suppressed,
        suppression_reason=ctx.suppression_reason,
        stages=ctx.stages,
        current_stage_id=m.stage_id,
        stats=engagement.stats,
        final=sequences.is_final(m),
    )
    verdict = guard.verdict
    if verdict == rules.Verdict.BURNOUT and m.burnout_waited:
        verdict = rules.Verdict.PROCEED  # one 7-day rest per burnout, then try again
    if verdict == rules.Verdict.SEND_WINDOW_CLOSED:
        note(m, now, "wait", guard.reason)
        return [Schedule(guard.wake_at, "send window opens"), Sync()]
    if verdict == rules.Verdict.SUPPRESSED:
        return [CloseLost(guard.reason, "suppressed", guard.target_stage_id)]
    if verdict in (rules.Verdict.FINAL_EXPIRED, rules.Verdict.GHOST):
        return [CloseLost(guard.reason, str(verdict), guard.target_stage_id)]
    if verdict == rules.Verdict.BURNOUT:
        m.burnout_waited = True
        note(m, now, "wait", guard.reason)
        wake = guard.wake_at or now + rules.BURNOUT_WAIT
        return [
            Schedule(wake, "burnout pause over"),
            Record("burnout", "wait_7_days", guard.reason),
            Sync(),
        ]
    nxt = sequences.next_stage(m, ctx.stages, stage)
    if nxt is None:
        return [Schedule(None, "end of the automatic sequence"), Sync()]
    if m.first_draft_id is not None or m.sequence is not None:
        # A person wrote this email (a composer draft, a sequence step): no AI decision.
        return [SendInto(nxt), Sync()]
    days_in_stage = (now - m.stage_entered_at).days
    return [AskAI(nxt, engagement, days_in_stage), Sync()]


def on_ai_action(
    m: DealMemory, analysis: AnalyzeResult, nxt: rules.StageInfo, now: datetime
) -> list[Effect]:
    m.last_decision = f"{analysis.action}: {analysis.reasoning}"
    note(m, now, "decision", f"AI decided {analysis.action}: {analysis.reasoning}")
    if analysis.action == DealAction.send_email:
        return [SendInto(nxt)]
    if analysis.action in (DealAction.wait, DealAction.change_approach):
        if analysis.approach_note:
            m.approach_note = analysis.approach_note
        wait = days(analysis.wait_days or DEFAULT_WAIT_DAYS)
        return [Schedule(now + wait, analysis.action)]
    if analysis.action == DealAction.pause:
        m.status = DealStatus.paused
        return [Schedule(None, "paused by the AI")]
    return [Schedule(None, "flagged for review")]  # flag_for_review


# --- sending ---------------------------------------------------------------------------


def held_back(m: DealMemory, stage: rules.StageInfo) -> SendOutcome | None:
    """An email waiting for review holds back every other send of the deal."""
    review = m.review
    if m.first_draft_id is None and review is not None:
        if not review.approved or review.stage_id != stage.id:
            return SendOutcome(status=SendStatus.review, detail=f"draft {review.draft_id}")
    return None


def on_held(
    m: DealMemory, stage: rules.StageInfo, held: ReviewHold, now: datetime, *, on_enter: bool
) -> list[Effect]:
    """Human review mode: the email waits as draft `held.draft_id` for a person."""
    m.review = PendingReview(
        draft_id=held.draft_id,
        stage_id=stage.id,
        stage_name=stage.name,
        step=m.steps + 1,
        since=now,
        subject=held.subject,
        on_enter=on_enter,
    )
    note(
        m,
        now,
        "review",
        f"{stage.name} email waits for review: \u201c{held.subject}\u201d (draft {held.draft_id})",
    )
    return [Schedule(None, "waiting for review")]


def on_send_outcome(
    m: DealMemory, stage: rules.StageInfo, outcome: SendOutcome, now: datetime
) -> list[Effect]:
    if outcome.status == SendStatus.sent:
        m.steps += 1
        m.emails_sent += 1
        m.first_draft_id = None  # the person's first email went; follow-ups are the stages'
        m.burnout_waited = False  # a new email: a new streak of unopened ones may start
        note(m, now, "email", f"Sent {stage.name}: \u201c{outcome.subject}\u201d")
        m.review = None
    elif outcome.status == SendStatus.deferred:
        note(m, now, "wait", f"Send deferred: {outcome.detail}")
        return [Schedule(outcome.retry_at, "daily cap or send gap")]
    elif outcome.status in (SendStatus.failed, SendStatus.unknown):
        # Config errors and sends of unknown outcome need a person; never resend blindly.
        m.steps += 1 if outcome.status == SendStatus.unknown else 0
        if m.status != DealStatus.won:
            m.status = DealStatus.paused
        note(m, now, "status", f"Paused for review: {outcome.detail}")
        return [
            Schedule(None, f"send {outcome.status}: needs review"),
            Record("send_failed", outcome.status, outcome.detail),
        ]
    return []


def after_send_into(stage: rules.StageInfo, outcome: SendOutcome) -> list[Effect]:
    if outcome.status == SendStatus.sent:
        return [EnterStage(stage, f"{stage.name} sent")]
    if outcome.status == SendStatus.suppressed:
        return [CloseLost(outcome.detail or "suppressed", "suppressed")]
    if outcome.status == SendStatus.rejected:
        return [
            Suppress(SuppressionReason.hard_bounce, outcome.detail),
            CloseLost(f"address rejected: {outcome.detail}", "rejected"),
        ]
    return []


def after_send_now(
    m: DealMemory, stage: rules.StageInfo, outcome: SendOutcome, on_enter: bool
) -> list[Effect]:
    """After a person's "send now" (its outcome is already in memory: on_send_outcome)."""
    record = Record("send_now", outcome.status, outcome.detail or f"{stage.name} sent")
    if on_enter:
        won = m.status == DealStatus.won
        m.send_on_enter_pending = outcome.status == SendStatus.deferred
        if outcome.status == SendStatus.sent:
            return [record, Schedule(None, "won" if won else "waiting for a person"), Sync()]
        if outcome.status == SendStatus.suppressed and not won:
            return [record, CloseLost(outcome.detail or "suppressed", "suppressed")]
        return [record, Sync()]
    return [record, *after_send_into(stage, outcome), Sync()]


def send_on_enter(
    m: DealMemory, ctx: DealContext, stage: rules.StageInfo, now: datetime
) -> list[Effect]:
    won = m.status == DealStatus.won  # a won stage's welcome email: the deal stays won
    if ctx.suppressed:
        m.send_on_enter_pending = False
        if won:
            note(m, now, "email", f"{stage.name} email not sent: {ctx.suppression_reason}")
            return [Sync()]
        return [CloseLost(f"suppressed: {ctx.suppression_reason}", "suppressed")]
    if not rules.in_send_window(now, ctx.window, ctx.contact_timezone):
        wake = rules.next_send_time(now, ctx.window, m.deal_id, ctx.contact_timezone)
        return [Schedule(wake, f"{stage.name} email when the window opens"), Sync()]
    m.send_on_enter_pending = False
    return [SendEntryEmail(stage, won)]


def after_entry_email(m: DealMemory, outcome: SendOutcome, *, won: bool) -> list[Effect]:
    if outcome.status == SendStatus.deferred:
        m.send_on_enter_pending = True
    elif outcome.status == SendStatus.sent:
        return [Schedule(None, "won" if won else "waiting for the next product event"), Sync()]
    elif outcome.status == SendStatus.suppressed and not won:
        return [CloseLost(outcome.detail or "suppressed", "suppressed")]
    return [Sync()]


def approved_while_paused(m: DealMemory, stage: rules.StageInfo, now: datetime) -> list[Effect]:
    """An approved review email waits while the deal is paused ([] when it is not)."""
    if m.status != DealStatus.paused:
        return []
    return [Schedule(now, f"approved {stage.name} email, once resumed")]


def send_approved(
    m: DealMemory, ctx: DealContext, stage: rules.StageInfo, now: datetime
) -> list[Effect]:
    """Sends the approved review draft: not to a suppressed address, only inside the send
    window (caps and gaps: the Sender)."""
    review = m.review
    assert review is not None
    if review.on_enter:
        m.send_on_enter_pending = True
        return [SendOnEnter(stage)]
    if ctx.suppressed:
        return [CloseLost(f"suppressed: {ctx.suppression_reason}", "suppressed")]
    if not rules.in_send_window(now, ctx.window, ctx.contact_timezone):
        wake = rules.next_send_time(now, ctx.window, m.deal_id, ctx.contact_timezone)
        return [Schedule(wake, f"approved {stage.name} email when the window opens")]
    return [SendInto(stage)]
