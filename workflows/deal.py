"""DealWorkflow: one long-lived workflow per deal, the authority on what happens next and when.

It sleeps until the deal's next action (or a signal), asks the autopilot rules and the AI what to
do, sends through activities, and mirrors every change to the database and to search attributes.
All state lives in one dataclass (`workflows.deal_memory.DealMemory`) that is carried across
continue-as-new.

This class keeps the run loop and the signal/update/query handlers. What an event does to the
deal is decided by pure functions (workflows.decisions, workflows.autopilot) that return
effects; DealRuntime (workflows.deal_runtime) carries them out.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from dealpilot.core.enums import SendStatus

with workflow.unsafe.imports_passed_through():
    from workflows import autopilot, cadence, decisions, person_sends, rules, sequences
    from workflows import deal_activities as acts
    from workflows.contracts import (
        BounceEvent,
        CloseRequest,
        DealStateView,
        EngagementEvent,
        EventRef,
        MoveStageRequest,
        NextActionRequest,
        ReplyEvent,
        ReviewDecision,
        SendNowRequest,
        SendNowResult,
        SendOutcome,
        SendReplyRequest,
        TierRefresh,
        TimelineEntry,
    )
    from workflows.deal_memory import (
        DealInput,
        already_seen,
        note,
        state_view,
        wait_summary,
    )
    from workflows.deal_runtime import DealRuntime
    from workflows.effects import Effect, Sync


@dataclass
class _Inbound:
    kind: str  # reply | unsubscribed | bounced | complained | opened | clicked | pause | resume
    payload: Any = None


@workflow.defn
class DealWorkflow(DealRuntime):
    def __init__(self) -> None:
        super().__init__()
        self._inbox: list[_Inbound] = []
        self._nudged = False
        self._lock = asyncio.Lock()
        self._actions = 0

    # ----------------------------------------------------------------- run
    @workflow.run
    async def run(self, inp: DealInput) -> DealStateView:
        self._deal_id = inp.deal_id
        ctx = await self._load_context()
        if inp.memory is not None:
            self._m = inp.memory
        else:
            stage = autopilot.stage_of(ctx.stages, ctx.stage_id)
            self._m = autopilot.fresh_memory(ctx, stage, inp.draft_id, workflow.now())
            self._m.one_off = inp.one_off and inp.draft_id is not None
            sequences.begin(self._m, inp.sequence, workflow.now())
            text = f"Enrolled in {ctx.pipeline_name} at {self._m.stage_name}"
            note(self._m, workflow.now(), "stage", text)
            await self._sync()
        self._publish()

        while not autopilot.is_finished(self.m):
            await self._sleep()
            async with self._lock:
                if self._inbox:
                    await self._drain_inbox()
                    continue
                if self._due():
                    self._nudged = False
                    await self._act()
                    self._actions += 1
            if autopilot.is_finished(self.m):
                break
            forced = (
                inp.continue_as_new_after is not None and self._actions >= inp.continue_as_new_after
            )
            if workflow.info().is_continue_as_new_suggested() or forced:
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._inbox:
                    workflow.continue_as_new(
                        DealInput(deal_id=self.m.deal_id, memory=self.m, continue_as_new_after=None)
                    )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    def _context_is_fresh(self) -> bool:
        """A deal whose first email is due at enrolment acts in the workflow task that loaded
        its context: that context is used, not read again (half of the first task's database
        reads, `bench.sleeping`). Runs recorded before this change read it twice."""
        return (
            self._ctx is not None
            and self._ctx_task == workflow.info().get_current_history_length()
            and workflow.patched(acts.FIRST_WAKE_CONTEXT)
        )

    def _due(self) -> bool:
        return autopilot.is_due(self.m, workflow.now(), nudged=self._nudged)

    async def _sleep(self) -> None:
        if self._inbox or self._due():
            return
        wake = autopilot.wake_time(self.m)
        self._dirty = False
        timeout = None if wake is None else max(wake - workflow.now(), timedelta(seconds=1))
        try:
            await workflow.wait_condition(
                lambda: bool(self._inbox) or self._nudged or self._dirty,
                timeout=timeout,
                timeout_summary=wait_summary(self.m, workflow.now()),
            )
        except TimeoutError:
            pass

    async def _act(self) -> None:
        autopilot.wake_up(self.m, workflow.now())
        ctx = self.ctx if self._context_is_fresh() else await self._load_context()
        engagement = await self._refresh_engagement()
        await self._carry_out(autopilot.when_due(self.m, ctx, engagement, workflow.now()))

    # -------------------------------------------------------------- inbox
    async def _drain_inbox(self) -> None:
        while self._inbox and not autopilot.is_closed(self.m):
            item = self._inbox.pop(0)
            if already_seen(self.m, getattr(item.payload, "event_id", None)):
                continue
            await self._handle(item)
        if autopilot.is_closed(self.m):
            self._inbox.clear()  # nothing more can happen to a closed deal
        else:
            await self._sync()

    async def _handle(self, item: _Inbound) -> None:
        m, now = self.m, workflow.now()
        effects: list[Effect] = []
        if item.kind == "reply":
            await self._on_reply(item.payload)
        elif item.kind == "unsubscribed":
            effects = decisions.on_unsubscribed(m, now)
        elif item.kind == "complained":
            effects = decisions.on_complained(m, now)
        elif item.kind == "bounced":
            effects = decisions.on_bounced(m, item.payload, now)
        elif item.kind == "opened":
            effects = decisions.on_opened(m, item.payload, now)
        elif item.kind == "clicked":
            effects = decisions.on_clicked(m, item.payload, now)
        elif item.kind == "pause":
            effects = decisions.on_pause(m, item.payload, now)
        elif item.kind == "resume":
            effects = decisions.on_resume(m, now)
        await self._carry_out(effects)

    async def _on_reply(self, reply: ReplyEvent) -> None:
        await self._discard_review("the contact replied")
        verdict = await acts.classify_reply(self.m, reply)
        # The patch marker only where the tier refresh it guards would run.
        refresh = rules.reply_outcome(verdict.intent).counts_as_reply and workflow.patched(
            "tier-after-reply"
        )
        effects = decisions.on_reply(
            self.m, self.ctx, reply, verdict, workflow.now(), refresh_tier=refresh
        )
        await self._carry_out(effects)

    # ------------------------------------------------------------- signals
    @workflow.signal
    def reply_received(self, reply: ReplyEvent) -> None:
        self._inbox.append(_Inbound("reply", reply))

    @workflow.signal
    def unsubscribed(self, ref: EventRef | None = None) -> None:
        self._inbox.append(_Inbound("unsubscribed", ref))

    @workflow.signal
    def bounced(self, bounce: BounceEvent) -> None:
        self._inbox.append(_Inbound("bounced", bounce))

    @workflow.signal
    def complained(self, ref: EventRef | None = None) -> None:
        self._inbox.append(_Inbound("complained", ref))

    @workflow.signal
    def email_opened(self, event: EngagementEvent) -> None:
        self._inbox.append(_Inbound("opened", event))

    @workflow.signal
    def email_clicked(self, event: EngagementEvent) -> None:
        self._inbox.append(_Inbound("clicked", event))

    @workflow.signal
    def pause(self, reason: str = "") -> None:
        self._inbox.append(_Inbound("pause", reason))

    @workflow.signal
    def resume(self) -> None:
        self._inbox.append(_Inbound("resume"))

    @workflow.signal
    def nudge(self) -> None:
        self._nudged = True

    @workflow.signal
    def tier_refreshed(self, refresh: TierRefresh) -> None:
        """The daily engagement scan's tier. Only the tier and its search attribute change; the
        sleeping deal keeps its timer unless the new tier changes its follow-up's cadence, and
        then only the timer is replanned (and the row saved): nothing else runs."""
        if self._m is None or autopilot.is_closed(self.m) or refresh.tier == self.m.tier:
            return
        if cadence.retier(self.m, refresh.tier, workflow.now()):
            self._inbox.append(_Inbound("retimed"))  # saved by the drain, then re-planned
        self._publish()

    # ------------------------------------------------------------- updates
    @workflow.update
    async def move_stage(self, req: MoveStageRequest) -> DealStateView:
        async with self._lock:
            stage = decisions.resolve_stage(self.ctx, req)
            if req.forward_only:  # again, under the lock: another move may have come first
                decisions.require_open(self.m)
                decisions.check_forward(self.m, self.ctx, stage)
            await self._carry_out(decisions.move_stage(stage, req))
            return self.state()

    @move_stage.validator
    def _validate_move_stage(self, req: MoveStageRequest) -> None:
        self._require_open()
        stage = decisions.resolve_stage(self.ctx, req)
        if req.forward_only:
            decisions.check_forward(self.m, self.ctx, stage)

    @workflow.update
    async def mark_won(self, req: CloseRequest) -> DealStateView:
        async with self._lock:
            await self._carry_out(decisions.mark_won(self.ctx.stages, req))
            return self.state()

    @mark_won.validator
    def _validate_mark_won(self, req: CloseRequest) -> None:
        self._require_open()
        decisions.require_won_stage(self.ctx.stages)

    @workflow.update
    async def mark_lost(self, req: CloseRequest) -> DealStateView:
        async with self._lock:
            await self._carry_out(decisions.mark_lost(req))
            return self.state()

    @mark_lost.validator
    def _validate_mark_lost(self, req: CloseRequest) -> None:
        self._require_open()

    @workflow.update
    async def send_now(self, req: SendNowRequest) -> SendNowResult:
        """Sends the deal's next email now, as the preview shows it: no AI decision, no send
        window, no review hold (a person asked). Suppression, the daily cap and the send gap
        still apply; the result says what happened."""
        async with self._lock:
            stage, on_enter = decisions.send_now_target(self.m, self.ctx.stages)
            text = f"Send {stage.name} now (asked by {req.actor})"
            if req.approach_note:  # a change of approach (re-engaging a lurker)
                self.m.approach_note = req.approach_note
                text += f", new approach: {req.approach_note}"
            note(self.m, workflow.now(), "decision", text)
            await self._load_context()
            outcome = await self._send(
                stage, on_enter=on_enter, by_person=True, draft_id=req.draft_id
            )
            await self._carry_out(autopilot.after_send_now(self.m, stage, outcome, on_enter))
            return self._send_result(stage.name, outcome)

    @send_now.validator
    def _validate_send_now(self, req: SendNowRequest) -> None:
        self._require_started()
        decisions.send_now_target(self.m, self.ctx.stages)

    @workflow.update
    async def send_reply(self, req: SendReplyRequest) -> SendNowResult:
        """Sends a suggested reply a person approved, as an answer in the contact's thread;
        the stage and the sequence stay as they are (workflows.person_sends)."""
        async with self._lock:
            person_sends.check_reply(self.m)  # again, under the lock
            text = f"Send reply draft {req.draft_id} (approved by {req.actor})"
            note(self.m, workflow.now(), "decision", text)
            ctx = await self._load_context()
            stage = autopilot.stage_of(ctx.stages, self.m.stage_id)
            outcome = await acts.send_reply(self.m, stage, req.draft_id)
            now = workflow.now()
            await self._carry_out(person_sends.after_reply(self.m, req.draft_id, outcome, now))
            return self._send_result(stage.name, outcome)

    @send_reply.validator
    def _validate_send_reply(self, req: SendReplyRequest) -> None:
        self._require_started()
        person_sends.check_reply(self.m)

    def _send_result(self, stage: str, outcome: SendOutcome) -> SendNowResult:
        return SendNowResult(
            sent=outcome.status == SendStatus.sent,
            outcome=outcome.status,
            stage=stage,
            state=self.state(),
            subject=outcome.subject,
            email_log_id=outcome.email_log_id,
            detail=outcome.detail,
            retry_at=outcome.retry_at,
        )

    @workflow.update
    async def set_next_action(self, req: NextActionRequest) -> DealStateView:
        async with self._lock:
            await self._carry_out(decisions.set_next_action(self.m, req, workflow.now()))
            return self.state()

    @set_next_action.validator
    def _validate_set_next_action(self, req: NextActionRequest) -> None:
        self._require_open()
        decisions.check_next_action(req)

    @workflow.update
    async def review_draft(self, decision: ReviewDecision) -> DealStateView:
        """A person's decision on the email held for review (see ReviewDecision)."""
        async with self._lock:
            decisions.check_review(self.m, decision)  # again: a reply may have won the lock
            await acts.settle_review(self.m, decisions.review_settlement(self.m, decision))
            effects = decisions.on_review_decision(self.m, decision, workflow.now())
            await self._carry_out([*effects, Sync()])
            return self.state()

    @review_draft.validator
    def _validate_review_draft(self, decision: ReviewDecision) -> None:
        self._require_started()
        decisions.check_reviewable(self.m, decision)

    def _require_started(self) -> None:
        if self._m is None or self._ctx is None:
            raise ApplicationError("the deal is still starting; try again", type="NotReady")

    def _require_open(self) -> None:
        self._require_started()
        decisions.require_open(self.m)

    # ------------------------------------------------------------- queries
    @workflow.query
    def state(self) -> DealStateView:
        return state_view(self.m)

    @workflow.query
    def timeline(self) -> list[TimelineEntry]:
        return list(self.m.timeline)
