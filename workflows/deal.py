"""DealWorkflow: one long-lived workflow per deal, the authority on what happens next and when.

It sleeps until the deal's next action (or a signal), asks the autopilot rules and the AI what to
do, sends through activities, and mirrors every change to the database and to search attributes.
All state lives in one dataclass (`workflows.deal_memory.DealMemory`) that is carried across
continue-as-new.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import deal_activities as acts
    from workflows import rules
    from workflows.contracts import (
        REVIEW_ACTIONS,
        BounceEvent,
        CloseRequest,
        DealContext,
        DealStateView,
        Engagement,
        EngagementEvent,
        EventRef,
        MoveStageRequest,
        NextActionRequest,
        ReplyEvent,
        ReviewDecision,
        ReviewSettlement,
        SendOutcome,
        TimelineEntry,
    )
    from workflows.deal_memory import (
        DealInput,
        DealMemory,
        PendingReview,
        already_seen,
        current_details,
        note,
        search_attribute_updates,
        state_view,
        wait_summary,
    )

SOFT_BOUNCE_LIMIT = 3
DEFAULT_WAIT_DAYS = 2


@dataclass
class _Inbound:
    kind: str  # reply | unsubscribed | bounced | complained | opened | clicked | pause | resume
    payload: Any = None


def _days(n: int | None) -> timedelta:
    return timedelta(days=n or 0)


@workflow.defn
class DealWorkflow:
    def __init__(self) -> None:
        self._m: DealMemory | None = None
        self._ctx: DealContext | None = None
        self._inbox: list[_Inbound] = []
        self._nudged = False
        self._dirty = False
        self._lock = asyncio.Lock()
        self._actions = 0
        self._deal_id = 0

    # ----------------------------------------------------------------- run
    @workflow.run
    async def run(self, inp: DealInput) -> DealStateView:
        self._deal_id = inp.deal_id
        ctx = await self._load_context()
        if inp.memory is not None:
            self._m = inp.memory
        else:
            self._m = self._fresh_memory(ctx, inp.draft_id)
            self._note("stage", f"Enrolled in {ctx.pipeline_name} at {self._m.stage_name}")
            await self._sync()
        self._publish()

        while not self._finished:
            await self._sleep()
            async with self._lock:
                if self._inbox:
                    await self._drain_inbox()
                    continue
                if self._due():
                    self._nudged = False
                    await self._act()
                    self._actions += 1
            if self._finished:
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

    @property
    def m(self) -> DealMemory:
        assert self._m is not None
        return self._m

    @property
    def ctx(self) -> DealContext:
        assert self._ctx is not None
        return self._ctx

    @property
    def _closed(self) -> bool:
        return self.m.status in ("won", "lost")

    @property
    def _finished(self) -> bool:
        """Closed with nothing left to send: a won stage's welcome email (or its review)
        still goes out before the workflow ends."""
        return self._closed and not self.m.send_on_enter_pending and self.m.review is None

    def _fresh_memory(self, ctx: DealContext, draft_id: int | None) -> DealMemory:
        stage = self._stage(ctx.stage_id)
        now = workflow.now()
        first_wait = stage.days_until_followup if stage.kind in ("entry", "sequence") else None
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
            status="paused" if ctx.status == "paused" else "active",
            tier="new",
            stage_entered_at=now,
            next_action_at=None if first_wait is None else now + _days(first_wait),
            next_action_reason="first email" if first_wait is not None else "waiting for a person",
            send_on_enter_pending=stage.auto_action == "send_on_enter",
            first_draft_id=draft_id,
        )

    # ------------------------------------------------------------ sleeping
    def _due(self) -> bool:
        if self._nudged:
            return True
        now = workflow.now()
        if self.m.status == "paused":
            if self.m.paused_until is not None and now >= self.m.paused_until:
                return True
            return False
        return self.m.next_action_at is not None and now >= self.m.next_action_at

    async def _sleep(self) -> None:
        if self._inbox or self._due():
            return
        now = workflow.now()
        wake: datetime | None = None
        if self.m.status == "paused":
            wake = self.m.paused_until
        elif self.m.next_action_at is not None:
            wake = self.m.next_action_at
        self._dirty = False
        timeout = None if wake is None else max(wake - now, timedelta(seconds=1))
        try:
            await workflow.wait_condition(
                lambda: bool(self._inbox) or self._nudged or self._dirty,
                timeout=timeout,
                timeout_summary=self._wait_summary(),
            )
        except TimeoutError:
            pass

    def _wait_summary(self) -> str:
        return wait_summary(self.m, workflow.now())

    # ------------------------------------------------------------- acting
    async def _act(self) -> None:
        m = self.m
        if m.status == "paused":
            m.status, m.paused_until = "active", None
            self._note("status", "Resumed after the pause ended")
        ctx = await self._load_context()
        engagement = await self._refresh_engagement()
        stage = self._stage(m.stage_id)
        now = workflow.now()

        if m.send_on_enter_pending:
            await self._send_on_enter(stage)
            return
        if m.review is not None:
            if m.review.approved:
                await self._send_reviewed()  # the window, cap or gap held it back
            else:
                self._schedule(None, "waiting for review")
            await self._sync()
            return
        if stage.kind not in ("entry", "sequence"):
            self._schedule(None, "waiting for a person")
            await self._sync()
            return

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
        )
        verdict = guard.verdict
        if verdict == rules.Verdict.BURNOUT and m.burnout_waited:
            verdict = rules.Verdict.PROCEED  # one 7-day rest per burnout, then try again
        if verdict == rules.Verdict.SEND_WINDOW_CLOSED:
            self._schedule(guard.wake_at, "send window opens")
            self._note("wait", guard.reason)
        elif verdict == rules.Verdict.SUPPRESSED:
            await self._close_lost(guard.reason, decision="suppressed")
            return
        elif verdict in (rules.Verdict.FINAL_EXPIRED, rules.Verdict.GHOST):
            await self._close_lost(guard.reason, decision=str(verdict))
            return
        elif verdict == rules.Verdict.BURNOUT:
            m.burnout_waited = True
            self._schedule(guard.wake_at or now + rules.BURNOUT_WAIT, "burnout pause over")
            self._note("wait", guard.reason)
            await self._record("burnout", "wait_7_days", guard.reason)
        else:
            await self._proceed(stage, engagement)
        await self._sync()

    async def _proceed(self, stage: rules.StageInfo, engagement: Engagement) -> None:
        m = self.m
        nxt = rules.next_sequence_stage(self.ctx.stages, stage.id)
        if nxt is None:
            self._schedule(None, "end of the automatic sequence")
            return
        if m.first_draft_id is not None:
            # A person wrote this first email and chose to send it: no AI decision to make.
            await self._send_into(nxt)
            return
        days_in_stage = (workflow.now() - m.stage_entered_at).days
        analysis = await acts.analyze(m, engagement, days_in_stage)
        m.last_decision = f"{analysis.action}: {analysis.reasoning}"
        self._note("decision", f"AI decided {analysis.action}: {analysis.reasoning}")
        now = workflow.now()
        if analysis.action == "send_email":
            await self._send_into(nxt)
        elif analysis.action in ("wait", "change_approach"):
            if analysis.approach_note:
                m.approach_note = analysis.approach_note
            self._schedule(now + _days(analysis.wait_days or DEFAULT_WAIT_DAYS), analysis.action)
        elif analysis.action == "pause":
            m.status = "paused"
            self._schedule(None, "paused by the AI")
        else:  # flag_for_review
            self._schedule(None, "flagged for review")

    async def _send(self, stage: rules.StageInfo, *, on_enter: bool = False) -> SendOutcome:
        m = self.m
        outcome = await self._deliver(stage, on_enter=on_enter)
        if outcome.status == "sent":
            m.steps += 1
            m.emails_sent += 1
            m.first_draft_id = None  # the person's first email went; follow-ups are the stages'
            m.burnout_waited = False  # a new email: a new streak of unopened ones may start
            self._note("email", f"Sent {stage.name}: \u201c{outcome.subject}\u201d")
            m.review = None
        elif outcome.status == "deferred":
            self._schedule(outcome.retry_at, "daily cap or send gap")
            self._note("wait", f"Send deferred: {outcome.detail}")
        elif outcome.status in ("failed", "unknown"):
            # Config errors and sends of unknown outcome need a person; never resend blindly.
            m.steps += 1 if outcome.status == "unknown" else 0
            if m.status != "won":
                m.status = "paused"
            self._schedule(None, f"send {outcome.status}: needs review")
            self._note("status", f"Paused for review: {outcome.detail}")
            await self._record("send_failed", outcome.status, outcome.detail)
        return outcome

    async def _deliver(self, stage: rules.StageInfo, *, on_enter: bool) -> SendOutcome:
        """Sends `stage`'s email, or in human review mode holds it as a draft for a person
        (outcome `review`). A person's draft (composer first email, approved review) goes
        out as it is and is never held again."""
        m = self.m
        review = m.review
        draft_id = m.first_draft_id
        if draft_id is None and review is not None:
            if not review.approved or review.stage_id != stage.id:
                return SendOutcome(status="review", detail=f"draft {review.draft_id}")
            draft_id = review.draft_id
        elif draft_id is None and self.ctx.human_review and workflow.patched("human-review"):
            return await self._hold(stage, on_enter=on_enter)
        outcome = await acts.send_email(m, stage, draft_id=draft_id)
        if review is not None and outcome.status not in ("sent", "deferred"):
            await self._discard_review(f"send {outcome.status}: {outcome.detail}")
        return outcome

    async def _hold(self, stage: rules.StageInfo, *, on_enter: bool) -> SendOutcome:
        m = self.m
        try:
            held = await acts.hold_for_review(m, stage)
        except ActivityError as exc:
            # Retries ran out (the AI, a template): a person looks, the deal stays alive.
            cause = exc.cause.message if isinstance(exc.cause, ApplicationError) else str(exc)
            return SendOutcome(status="failed", detail=f"drafting for review failed: {cause}")
        m.review = PendingReview(
            draft_id=held.draft_id,
            stage_id=stage.id,
            stage_name=stage.name,
            step=m.steps + 1,
            since=workflow.now(),
            subject=held.subject,
            on_enter=on_enter,
        )
        self._schedule(None, "waiting for review")
        self._note(
            "review",
            f"{stage.name} email waits for review: \u201c{held.subject}\u201d "
            f"(draft {held.draft_id})",
        )
        return SendOutcome(status="review", subject=held.subject, detail=f"draft {held.draft_id}")

    async def _send_reviewed(self) -> None:
        """Sends the approved review draft, when the deal may send: not while paused, not to
        a suppressed address, only inside the send window (caps and gaps: the Sender)."""
        m = self.m
        review = m.review
        assert review is not None
        stage = self._stage(review.stage_id)
        if m.status == "paused":
            self._schedule(workflow.now(), f"approved {stage.name} email, once resumed")
            return
        ctx = await self._load_context()
        if review.on_enter:
            m.send_on_enter_pending = True
            await self._send_on_enter(stage)
            return
        if ctx.suppressed:
            await self._close_lost(f"suppressed: {ctx.suppression_reason}", decision="suppressed")
            return
        now = workflow.now()
        if not rules.in_send_window(now, ctx.window, ctx.contact_timezone):
            wake = rules.next_send_time(now, ctx.window, m.deal_id, ctx.contact_timezone)
            self._schedule(wake, f"approved {stage.name} email when the window opens")
            return
        await self._send_into(stage)

    async def _discard_review(self, reason: str) -> None:
        """The deal moved on while an email waited for review: the draft is void."""
        review = self.m.review
        if review is None:
            return
        self.m.review = None
        await acts.settle_review(
            self.m,
            ReviewSettlement(
                deal_id=self.m.deal_id, draft_id=review.draft_id, action="discard", note=reason
            ),
        )
        self._note("review", f"Draft {review.draft_id} ({review.stage_name}) discarded: {reason}")

    async def _send_into(self, nxt: rules.StageInfo) -> None:
        outcome = await self._send(nxt)
        if outcome.status == "sent":
            self._enter_stage(nxt, reason=f"{nxt.name} sent")
        elif outcome.status == "suppressed":
            await self._close_lost(outcome.detail or "suppressed", decision="suppressed")
        elif outcome.status == "rejected":
            await self._suppress("hard_bounce", outcome.detail)
            await self._close_lost(f"address rejected: {outcome.detail}", decision="rejected")

    async def _send_on_enter(self, stage: rules.StageInfo) -> None:
        ctx = self.ctx
        now = workflow.now()
        won = self.m.status == "won"  # a won stage's welcome email: the deal stays won
        if ctx.suppressed:
            self.m.send_on_enter_pending = False
            if won:
                self._note("email", f"{stage.name} email not sent: {ctx.suppression_reason}")
                await self._sync()
            else:
                await self._close_lost(
                    f"suppressed: {ctx.suppression_reason}", decision="suppressed"
                )
            return
        if not rules.in_send_window(now, ctx.window, ctx.contact_timezone):
            wake = rules.next_send_time(now, ctx.window, self.m.deal_id, ctx.contact_timezone)
            self._schedule(wake, f"{stage.name} email when the window opens")
            await self._sync()
            return
        self.m.send_on_enter_pending = False
        outcome = await self._send(stage, on_enter=True)
        if outcome.status == "deferred":
            self.m.send_on_enter_pending = True
        elif outcome.status == "sent":
            self._schedule(None, "won" if won else "waiting for the next product event")
        elif outcome.status == "suppressed" and not won:
            await self._close_lost(outcome.detail or "suppressed", decision="suppressed")
            return
        await self._sync()

    # ------------------------------------------------------ stage changes
    def _enter_stage(self, stage: rules.StageInfo, *, reason: str) -> None:
        m = self.m
        now = workflow.now()
        m.stage_id, m.stage_name, m.stage_entered_at = stage.id, stage.name, now
        self._note("stage", f"Moved to {stage.name} ({reason})")
        m.send_on_enter_pending = False
        if stage.kind == "won":
            m.status, m.lost_reason = "won", ""
            self._schedule(None, "won")
            if stage.auto_action == "send_on_enter":  # e.g. "You're an Active Lister"
                m.send_on_enter_pending = True
                self._schedule(now, f"{stage.name} email")
        elif stage.kind == "lost":
            m.status = "lost"
            self._schedule(None, "closed")
        elif stage.kind in ("entry", "sequence"):
            wait = stage.days_until_followup or 0
            label = (
                "final follow-up expires"
                if rules.is_final_sequence_stage(self.ctx.stages, stage.id)
                else "next follow-up"
            )
            self._schedule(now + _days(wait), f"{label} ({wait} days without a reply)")
        else:
            self._schedule(None, "waiting for a person")
            if stage.auto_action == "send_on_enter":
                m.send_on_enter_pending = True
                self._schedule(now, f"{stage.name} email")

    async def _close_lost(self, reason: str, *, decision: str) -> None:
        await self._discard_review(reason)
        lost = rules.lost_stage(self.ctx.stages)
        self.m.lost_reason = reason
        self._enter_stage(lost, reason=reason)
        self.m.status = "lost"
        await self._record(decision, "closed_lost", reason)
        await self._sync()

    def _schedule(self, at: datetime | None, reason: str) -> None:
        self.m.next_action_at, self.m.next_action_reason = at, reason
        self._dirty = True

    # -------------------------------------------------------------- inbox
    async def _drain_inbox(self) -> None:
        while self._inbox and not self._closed:
            item = self._inbox.pop(0)
            if self._already_seen(item):
                continue
            await self._handle(item)
        if self._closed:
            self._inbox.clear()  # nothing more can happen to a closed deal
        else:
            await self._sync()

    def _already_seen(self, item: _Inbound) -> bool:
        return already_seen(self.m, getattr(item.payload, "event_id", None))

    async def _handle(self, item: _Inbound) -> None:
        m = self.m
        if item.kind == "reply":
            await self._on_reply(item.payload)
        elif item.kind == "unsubscribed":
            self._note("status", "Unsubscribed")
            await self._suppress("unsubscribed", "unsubscribe link")
            await self._close_lost("unsubscribed", decision="unsubscribed")
        elif item.kind == "complained":
            self._note("status", "Marked our email as spam")
            await self._suppress("complaint", "spam complaint")
            await self._close_lost("spam complaint", decision="complaint")
        elif item.kind == "bounced":
            bounce: BounceEvent = item.payload
            if not bounce.hard:
                m.soft_bounces += 1
                self._note("bounce", f"Soft bounce {m.soft_bounces}: {bounce.reason}")
                if m.soft_bounces < SOFT_BOUNCE_LIMIT:
                    return
            self._note("bounce", f"Bounced: {bounce.reason}")
            await self._suppress("hard_bounce", bounce.reason)
            await self._close_lost(f"bounced: {bounce.reason}", decision="bounce")
        elif item.kind in ("opened", "clicked"):
            event: EngagementEvent = item.payload
            if item.kind == "opened":
                m.opens += 1
            else:
                m.clicks += 1
            if item.kind == "opened":
                self._note("open", "Opened an email" + (" (scanner)" if event.is_bot else ""))
            else:
                self._note("click", f"Clicked {event.url or 'a link'}")
            await self._refresh_engagement()
        elif item.kind == "pause":
            if m.status == "active":
                m.status = "paused"
                self._note("status", f"Paused: {item.payload or 'by an operator'}")
        elif item.kind == "resume" and m.status == "paused":
            m.status, m.paused_until = "active", None
            self._note("status", "Resumed")
            if m.next_action_at is not None and m.next_action_at < workflow.now():
                self._schedule(workflow.now(), m.next_action_reason)

    async def _on_reply(self, reply: ReplyEvent) -> None:
        m = self.m
        await self._discard_review("the contact replied")
        verdict = await acts.classify_reply(m, reply)
        if verdict.intent not in ("out_of_office", "bounce"):
            m.replies += 1
            if workflow.patched("tier-after-reply"):
                await self._refresh_engagement()  # a reply makes the contact "engaged"
        self._note("reply", f"Replied ({verdict.intent}, {verdict.sentiment}): {verdict.summary}")
        m.last_decision = f"reply classified {verdict.intent}"
        if verdict.intent in ("interested", "question"):
            stage = self._stage(m.stage_id)
            target = rules.reply_stage(self.ctx.stages)
            if target is not None and stage.kind in ("entry", "sequence"):
                self._enter_stage(target, reason=f"reply: {verdict.intent}")
            self._schedule(None, "reply needs a person")
            await acts.draft_reply(m, reply, verdict.suggested_reply)
        elif verdict.intent == "not_interested":
            await self._close_lost("not interested", decision="reply_not_interested")
        elif verdict.intent == "unsubscribe":
            await self._suppress("unsubscribed", "asked by reply")
            await self._close_lost("asked to be removed", decision="reply_unsubscribe")
        elif verdict.intent == "bounce":
            await self._suppress("hard_bounce", verdict.summary)
            await self._close_lost("bounced", decision="reply_bounce")
        elif verdict.intent == "out_of_office":
            return_date = verdict.return_date or (workflow.now() + timedelta(days=7)).date()
            m.paused_until = rules.ooo_resume_at(return_date, self.ctx.window)
            m.status = "paused"
            self._note("status", f"Out of office until {return_date:%d %b %Y}: paused")
            await self._record(
                "out_of_office", "paused", f"resumes {m.paused_until:%Y-%m-%d %H:%M} UTC"
            )

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

    # ------------------------------------------------------------- updates
    @workflow.update
    async def move_stage(self, req: MoveStageRequest) -> DealStateView:
        async with self._lock:
            stage = self._resolve_stage(req)
            await self._discard_review(f"moved to {stage.name}")
            self._enter_stage(stage, reason=req.reason or f"moved by {req.actor}")
            if stage.kind == "lost":
                self.m.lost_reason = req.reason or "moved to a lost stage"
            await self._record("move_stage", f"moved_to:{stage.slug}", req.reason or req.actor)
            await self._sync()
            return self.state()

    @move_stage.validator
    def _validate_move_stage(self, req: MoveStageRequest) -> None:
        self._require_open()
        self._resolve_stage(req)

    @workflow.update
    async def mark_won(self, req: CloseRequest) -> DealStateView:
        async with self._lock:
            stage = rules.won_stage(self.ctx.stages)
            assert stage is not None  # the validator checked
            await self._discard_review("marked won")
            self._enter_stage(stage, reason=req.reason or f"marked won by {req.actor}")
            await self._record("mark_won", "won", req.reason or req.actor)
            await self._sync()
            return self.state()

    @mark_won.validator
    def _validate_mark_won(self, req: CloseRequest) -> None:
        self._require_open()
        if rules.won_stage(self.ctx.stages) is None:
            raise ApplicationError("this pipeline has no won stage", type="InvalidStage")

    @workflow.update
    async def mark_lost(self, req: CloseRequest) -> DealStateView:
        async with self._lock:
            await self._close_lost(
                req.reason or f"marked lost by {req.actor}", decision="mark_lost"
            )
            return self.state()

    @mark_lost.validator
    def _validate_mark_lost(self, req: CloseRequest) -> None:
        self._require_open()

    @workflow.update
    async def set_next_action(self, req: NextActionRequest) -> DealStateView:
        async with self._lock:
            self._schedule(req.at, req.reason)
            self._note("wait", f"Next action set to {req.at:%Y-%m-%d %H:%M} UTC: {req.reason}")
            await self._sync()
            return self.state()

    @set_next_action.validator
    def _validate_set_next_action(self, req: NextActionRequest) -> None:
        self._require_open()
        if req.at.tzinfo is None:
            raise ApplicationError("next action time needs a time zone", type="InvalidInput")

    @workflow.update
    async def review_draft(self, decision: ReviewDecision) -> DealStateView:
        """A person's decision on the email held for review (see ReviewDecision)."""
        async with self._lock:
            self._check_review(decision)  # again: a reply may have won the lock meanwhile
            m = self.m
            review = m.review
            assert review is not None
            await acts.settle_review(
                m,
                ReviewSettlement(
                    deal_id=m.deal_id,
                    draft_id=decision.draft_id,
                    action=decision.action,
                    subject=decision.subject,
                    body=decision.body,
                    note=decision.note,
                    reviewer=decision.reviewer,
                ),
            )
            who = decision.reviewer or "a person"
            note = f": {decision.note}" if decision.note else ""
            if decision.action == "reject":
                m.review = None
                await self._record("review", "rejected", decision.note or f"rejected by {who}")
                if m.status == "won":
                    self._note("review", f"{review.stage_name} email rejected by {who}{note}")
                else:
                    m.status, m.paused_until = "paused", None
                    # Due at once when an operator resumes: the autopilot drafts anew.
                    self._schedule(workflow.now(), "email rejected in review")
                    self._note(
                        "review",
                        f"{review.stage_name} email rejected by {who}{note}. Paused: resume, "
                        "move or close the deal",
                    )
            else:
                review.approved = True
                if decision.action == "edit":
                    review.subject = decision.subject or review.subject
                verb = "edited and approved" if decision.action == "edit" else "approved"
                self._note("review", f"{review.stage_name} email {verb} by {who}{note}")
                await self._send_reviewed()
            await self._sync()
            return self.state()

    @review_draft.validator
    def _validate_review_draft(self, decision: ReviewDecision) -> None:
        if self._m is None or self._ctx is None:
            raise ApplicationError("the deal is still starting; try again", type="NotReady")
        if self.m.status == "lost":
            raise ApplicationError("the deal is already lost", type="DealClosed")
        self._check_review(decision)

    def _check_review(self, decision: ReviewDecision) -> None:
        review = self.m.review
        if decision.action not in REVIEW_ACTIONS:
            raise ApplicationError(
                f"unknown review action {decision.action!r}", type="InvalidInput"
            )
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
        if decision.action == "edit" and not (
            (decision.subject or "").strip() and (decision.body or "").strip()
        ):
            raise ApplicationError("an edit needs a subject and a body", type="InvalidInput")

    def _require_open(self) -> None:
        if self._m is None or self._ctx is None:
            raise ApplicationError("the deal is still starting; try again", type="NotReady")
        if self._closed:
            raise ApplicationError(f"the deal is already {self.m.status}", type="DealClosed")

    def _resolve_stage(self, req: MoveStageRequest) -> rules.StageInfo:
        for stage in self.ctx.stages:
            if req.stage_id is not None and stage.id == req.stage_id:
                return stage
            if req.stage is not None and req.stage.lower() in (stage.slug, stage.name.lower()):
                return stage
        wanted = req.stage_id if req.stage_id is not None else req.stage
        raise ApplicationError(
            f"stage {wanted!r} is not a stage of the pipeline {self.ctx.pipeline_name!r}",
            type="InvalidStage",
        )

    # ------------------------------------------------------------- queries
    @workflow.query
    def state(self) -> DealStateView:
        return state_view(self.m)

    @workflow.query
    def timeline(self) -> list[TimelineEntry]:
        return list(self.m.timeline)

    # ------------------------------------------------------------ helpers
    def _stage(self, stage_id: int) -> rules.StageInfo:
        for stage in self.ctx.stages:
            if stage.id == stage_id:
                return stage
        raise ApplicationError(f"stage {stage_id} vanished from the pipeline", type="InvalidDeal")

    def _note(self, kind: str, text: str) -> None:
        note(self.m, workflow.now(), kind, text)

    async def _load_context(self) -> DealContext:
        self._ctx = await acts.load_context(self._deal_id)
        return self._ctx

    async def _refresh_engagement(self) -> Engagement:
        engagement = await acts.engagement_profile(self.m.deal_id)
        self.m.tier = engagement.tier
        return engagement

    async def _suppress(self, reason: str, detail: str) -> None:
        await acts.suppress(self.m, reason, detail)

    async def _record(self, decision_type: str, action: str, reasoning: str) -> None:
        await acts.record_decision(self.m, decision_type, action, reasoning)

    async def _sync(self) -> None:
        await acts.sync(self.m)
        self._publish()

    def _publish(self) -> None:
        workflow.upsert_search_attributes(search_attribute_updates(self.m))
        workflow.set_current_details(current_details(self.m))
