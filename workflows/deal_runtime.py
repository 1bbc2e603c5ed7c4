"""Carries out the effects of a deal's decisions (workflows.effects): activities, the next
wake-up, stage moves, sends. DealWorkflow's base; workflow code, so no I/O but activities.

The order of activities, timers and patch markers here is what recorded histories hold:
change it only behind `workflow.patched`.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from dealpilot.core.enums import AutoAction, ReviewAction, SendStatus
    from workflows import autopilot
    from workflows import deal_activities as acts
    from workflows.contracts import (
        DealContext,
        Engagement,
        ReviewSettlement,
        SendOutcome,
        SequenceStepPlan,
    )
    from workflows.deal_memory import (
        DealMemory,
        current_details,
        note,
        pending_step,
        search_attribute_updates,
    )
    from workflows.effects import (
        AskAI,
        CloseLost,
        DiscardReview,
        DraftReply,
        Effect,
        EnterStage,
        Record,
        RefreshEngagement,
        Schedule,
        SendEntryEmail,
        SendInto,
        SendOnEnter,
        SendReviewed,
        Suppress,
        Sync,
    )
    from workflows.rules import StageInfo


class DealRuntime:
    def __init__(self) -> None:
        self._m: DealMemory | None = None
        self._ctx: DealContext | None = None
        self._ctx_task = -1  # the workflow task it was loaded in (the history's length then)
        self._dirty = False  # the next wake-up changed: the sleeping run loop re-plans
        self._deal_id = 0

    @property
    def m(self) -> DealMemory:
        assert self._m is not None
        return self._m

    @property
    def ctx(self) -> DealContext:
        assert self._ctx is not None
        return self._ctx

    async def _carry_out(self, effects: list[Effect]) -> None:
        for effect in effects:
            await self._carry_out_one(effect)

    async def _carry_out_one(self, effect: Effect) -> None:
        m = self.m
        match effect:
            case Schedule(at=at, reason=reason):
                m.next_action_at, m.next_action_reason = at, reason
                m.follow_up_days = effect.follow_up_days
                self._dirty = True
            case Sync():
                await self._sync()
            case Record():
                await acts.record_decision(m, effect.decision_type, effect.action, effect.reasoning)
            case Suppress():
                await acts.suppress(m, effect.reason, effect.detail)
            case RefreshEngagement():
                await self._refresh_engagement()
            case DraftReply():
                await acts.draft_reply(m, effect.reply, effect.suggestion, effect.note)
            case DiscardReview():
                await self._discard_review(effect.reason)
            case EnterStage():
                await self._carry_out(
                    autopilot.enter_stage(
                        m,
                        self.ctx.stages,
                        effect.stage,
                        workflow.now(),
                        reason=effect.reason,
                        lost_reason=effect.lost_reason,
                        by_tier=workflow.patched("tier-cadence"),
                    )
                )
            case CloseLost():
                await self._discard_review(effect.reason)
                await self._carry_out(
                    autopilot.close_lost(m, self.ctx.stages, workflow.now(), effect)
                )
            case AskAI():
                analysis = await acts.analyze(m, effect.engagement, effect.days_in_stage)
                await self._carry_out(
                    autopilot.on_ai_action(m, analysis, effect.next_stage, workflow.now())
                )
            case SendInto():
                outcome = await self._send(effect.stage)
                await self._carry_out(autopilot.after_send_into(effect.stage, outcome))
            case SendOnEnter():
                await self._carry_out(
                    autopilot.send_on_enter(m, self.ctx, effect.stage, workflow.now())
                )
            case SendEntryEmail():
                outcome = await self._send(effect.stage, on_enter=True)
                await self._carry_out(autopilot.after_entry_email(m, outcome, won=effect.won))
            case SendReviewed():
                await self._send_reviewed()

    # ------------------------------------------------------------- sending
    async def _send(
        self,
        stage: StageInfo,
        *,
        on_enter: bool = False,
        by_person: bool = False,
        draft_id: int | None = None,
    ) -> SendOutcome:
        """`draft_id`: a stored draft of this email that a person approved goes out instead."""
        outcome = await self._deliver(
            stage, on_enter=on_enter, by_person=by_person, person_draft=draft_id
        )
        await self._carry_out(autopilot.on_send_outcome(self.m, stage, outcome, workflow.now()))
        return outcome

    async def _deliver(
        self, stage: StageInfo, *, on_enter: bool, by_person: bool, person_draft: int | None
    ) -> SendOutcome:
        """Sends `stage`'s email, or in human review mode holds it as a draft for a person
        (outcome `review`). A person's draft (composer first email, approved review) goes
        out as it is and is never held again; nor is an email a person asked to send now."""
        m = self.m
        held = autopilot.held_back(m, stage)
        if held is not None:
            return held
        review = m.review
        draft_id = m.first_draft_id if person_draft is None else person_draft
        # A sequence deal's k-th email is its step k, whoever wrote what finally goes out.
        step = None if on_enter else pending_step(m)
        if draft_id is None and review is not None:
            draft_id = review.draft_id  # approved for this very stage (held_back checked)
        elif draft_id is None and not by_person and stage.auto_action == AutoAction.draft_on_enter:
            return await self._hold(stage, on_enter=on_enter)  # a ready draft, for a person
        elif (
            draft_id is None
            and not by_person
            and self.ctx.human_review
            and workflow.patched("human-review")
        ):
            return await self._hold(stage, on_enter=on_enter, step=step)
        content = step if draft_id is None else None
        outcome = await acts.send_email(m, stage, draft_id=draft_id, step=content)
        if step is not None and outcome.status == SendStatus.sent:
            m.sequence_sent += 1
        if review is not None and outcome.status not in (SendStatus.sent, SendStatus.deferred):
            await self._discard_review(f"send {outcome.status}: {outcome.detail}")
        return outcome

    async def _hold(
        self, stage: StageInfo, *, on_enter: bool, step: SequenceStepPlan | None = None
    ) -> SendOutcome:
        try:
            held = await acts.hold_for_review(self.m, stage, step)
        except ActivityError as exc:
            # Retries ran out (the AI, a template): a person looks, the deal stays alive.
            cause = exc.cause.message if isinstance(exc.cause, ApplicationError) else str(exc)
            return SendOutcome(
                status=SendStatus.failed, detail=f"drafting for review failed: {cause}"
            )
        effects = autopilot.on_held(self.m, stage, held, workflow.now(), on_enter=on_enter)
        await self._carry_out(effects)
        return SendOutcome(
            status=SendStatus.review, subject=held.subject, detail=f"draft {held.draft_id}"
        )

    async def _send_reviewed(self) -> None:
        review = self.m.review
        assert review is not None
        stage = autopilot.stage_of(self.ctx.stages, review.stage_id)
        waiting = autopilot.approved_while_paused(self.m, stage, workflow.now())
        if waiting:
            await self._carry_out(waiting)
            return
        ctx = await self._load_context()
        await self._carry_out(autopilot.send_approved(self.m, ctx, stage, workflow.now()))

    async def _discard_review(self, reason: str) -> None:
        """The deal moved on while an email waited for review: the draft is void."""
        m = self.m
        review = m.review
        if review is None:
            return
        m.review = None
        await acts.settle_review(
            m,
            ReviewSettlement(
                deal_id=m.deal_id,
                draft_id=review.draft_id,
                action=ReviewAction.discard,
                note=reason,
            ),
        )
        text = f"Draft {review.draft_id} ({review.stage_name}) discarded: {reason}"
        note(m, workflow.now(), "review", text)

    # ------------------------------------------------------------ helpers
    async def _load_context(self) -> DealContext:
        self._ctx = await acts.load_context(self._deal_id)
        self._ctx_task = workflow.info().get_current_history_length()
        return self._ctx

    async def _refresh_engagement(self) -> Engagement:
        engagement = await acts.engagement_profile(self.m.deal_id)
        self.m.tier = engagement.tier
        return engagement

    async def _sync(self) -> None:
        await acts.sync(self.m)
        self._publish()

    def _publish(self) -> None:
        workflow.upsert_search_attributes(search_attribute_updates(self.m))
        workflow.set_current_details(current_details(self.m))
