"""DealWorkflow's decisions as plain function calls: no Temporal server, no database.

Each decision changes the DealMemory it is given and returns the effects the workflow
carries out in order (workflows.effects); these tests check both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from temporalio.exceptions import ApplicationError

from dealpilot.core.enums import (
    AutoAction,
    DealStatus,
    EngagementTier,
    SendStatus,
    StageKind,
    SuppressionReason,
)
from dealpilot.temporal.converter import data_converter
from workflows import autopilot, decisions
from workflows.contracts import (
    AnalyzeResult,
    BounceEvent,
    CloseRequest,
    DealContext,
    Engagement,
    EngagementEvent,
    MoveStageRequest,
    NextActionRequest,
    ReplyEvent,
    ReplyVerdict,
    ReviewDecision,
    ReviewHold,
    SendOutcome,
)
from workflows.deal_memory import DealMemory, PendingReview
from workflows.effects import (
    AskAI,
    CloseLost,
    DiscardReview,
    DraftReply,
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
from workflows.rules import EngagementStats, SendWindow, StageInfo

WINDOW = SendWindow("UTC", time(9), time(17), (0, 1, 2, 3, 4))
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday, inside the window
NIGHT = datetime(2026, 3, 4, 22, 0, tzinfo=UTC)


def _stage(id_: int, name: str, kind: StageKind, **kw: object) -> StageInfo:
    values: dict[str, object] = {
        "id": id_,
        "name": name,
        "slug": name.lower().replace(" ", "-"),
        "order": id_,
        "kind": kind,
        "auto_action": AutoAction.none,
        "days_until_followup": None,
        "is_terminal": False,
        "template_key": None,
    }
    values.update(kw)
    return StageInfo(**values)  # type: ignore[arg-type]


NEW = _stage(1, "New", StageKind.entry, days_until_followup=0)
INVITED = _stage(2, "Invited", StageKind.sequence, days_until_followup=3)
FINAL = _stage(3, "Final", StageKind.sequence, days_until_followup=4)
RESPONDED = _stage(4, "Responded", StageKind.reply)
WON = _stage(5, "Won", StageKind.won, auto_action=AutoAction.send_on_enter)
LOST = _stage(6, "Lost", StageKind.lost, is_terminal=True)
STAGES = [NEW, INVITED, FINAL, RESPONDED, WON, LOST]


def ctx(**kw: object) -> DealContext:
    values: dict[str, object] = {
        "deal_id": 7,
        "brand_id": 1,
        "brand_slug": "acme",
        "brand_name": "Acme",
        "pipeline_id": 1,
        "pipeline_name": "Sales",
        "contact_id": 1,
        "contact_email": "raj@example.test",
        "contact_name": "Raj",
        "contact_timezone": None,
        "window": WINDOW,
        "stages": STAGES,
        "stage_id": NEW.id,
        "status": DealStatus.active,
    }
    values.update(kw)
    return DealContext(**values)  # type: ignore[arg-type]


def memory(stage: StageInfo = INVITED, **kw: object) -> DealMemory:
    values: dict[str, object] = {
        "deal_id": 7,
        "brand": "acme",
        "pipeline": "Sales",
        "contact_email": "raj@example.test",
        "contact_name": "Raj",
        "stage_id": stage.id,
        "stage_name": stage.name,
        "status": DealStatus.active,
        "tier": EngagementTier.new,
        "stage_entered_at": NOW - timedelta(days=3),
        "next_action_at": NOW,
        "next_action_reason": "next follow-up",
    }
    values.update(kw)
    return DealMemory(**values)  # type: ignore[arg-type]


def review(*, approved: bool = False, stage: StageInfo = FINAL, on_enter: bool = False):
    return PendingReview(
        draft_id=40,
        stage_id=stage.id,
        stage_name=stage.name,
        step=2,
        since=NOW,
        subject="Hi",
        on_enter=on_enter,
        approved=approved,
    )


def stats(sent: int = 1, opened: int = 0, unopened: int = 0) -> EngagementStats:
    return EngagementStats(sent, opened, 0, 0, unopened, last_open_at=NOW if opened else None)


def engagement(**kw: int) -> Engagement:
    return Engagement(stats=stats(**kw), tier=EngagementTier.new)


def last_note(m: DealMemory) -> str:
    return m.timeline[-1].text


def test_enum_values_serialize_as_the_plain_strings_histories_hold() -> None:
    converter = data_converter.payload_converter
    with_enums = memory(status=DealStatus.paused, tier=EngagementTier.hot)
    with_strings = memory(status="paused", tier="hot")
    [a, b] = converter.to_payloads([with_enums, with_strings])
    assert a.data == b.data
    [back] = converter.from_payloads([a], [DealMemory])
    assert back == with_enums
    assert back.status == DealStatus.paused


# --- the deal's clock ------------------------------------------------------------------


def test_fresh_memory_waits_for_the_first_email_or_sends_a_persons_draft_at_once() -> None:
    m = autopilot.fresh_memory(ctx(), INVITED, None, NOW)
    assert (m.status, m.tier, m.next_action_at) == (DealStatus.active, "new", NOW + timedelta(3))
    assert autopilot.fresh_memory(ctx(), INVITED, 99, NOW).next_action_at == NOW
    paused = autopilot.fresh_memory(ctx(status="paused"), RESPONDED, None, NOW)
    assert paused.status == DealStatus.paused
    assert (paused.next_action_at, paused.next_action_reason) == (None, "waiting for a person")
    assert autopilot.fresh_memory(ctx(), WON, None, NOW).send_on_enter_pending


def test_due_and_wake_time_follow_the_pause() -> None:
    m = memory(next_action_at=NOW + timedelta(hours=1))
    assert not autopilot.is_due(m, NOW, nudged=False)
    assert autopilot.is_due(m, NOW, nudged=True)
    m.status, m.paused_until = DealStatus.paused, NOW
    assert autopilot.wake_time(m) == NOW
    assert autopilot.is_due(m, NOW, nudged=False)
    m.paused_until = None
    assert not autopilot.is_due(m, NOW + timedelta(days=9), nudged=False)


def test_closed_and_finished() -> None:
    m = memory(status=DealStatus.won, send_on_enter_pending=True)
    assert autopilot.is_closed(m)
    assert not autopilot.is_finished(m)  # the welcome email still goes out
    m.send_on_enter_pending = False
    assert autopilot.is_finished(m)
    assert not autopilot.is_closed(memory(status=DealStatus.paused))


# --- stage changes ---------------------------------------------------------------------


def test_entering_stages() -> None:
    m = memory(NEW)
    assert autopilot.enter_stage(m, STAGES, FINAL, NOW, reason="sent") == [
        Schedule(NOW + timedelta(days=4), "final follow-up expires (4 days without a reply)")
    ]
    assert (m.stage_id, m.stage_entered_at, last_note(m)) == (3, NOW, "Moved to Final (sent)")
    assert autopilot.enter_stage(m, STAGES, WON, NOW, reason="x") == [
        Schedule(None, "won"),
        Schedule(NOW, "Won email"),
    ]
    assert m.status == DealStatus.won
    assert m.send_on_enter_pending
    effects = autopilot.enter_stage(m, STAGES, LOST, NOW, reason="x", lost_reason="gone")
    assert effects == [Schedule(None, "closed")]
    assert (m.status, m.lost_reason, m.send_on_enter_pending) == ("lost", "gone", False)
    assert autopilot.enter_stage(memory(), STAGES, RESPONDED, NOW, reason="x") == [
        Schedule(None, "waiting for a person")
    ]


def test_close_lost_uses_the_target_or_the_pipelines_lost_stage() -> None:
    m = memory()
    effects = autopilot.close_lost(m, STAGES, NOW, CloseLost("ghost", "ghost", LOST.id))
    assert effects == [Schedule(None, "closed"), Record("ghost", "closed_lost", "ghost"), Sync()]
    assert (m.stage_id, m.status, m.lost_reason) == (LOST.id, DealStatus.lost, "ghost")
    m = memory()  # no lost stage: the deal closes where it is
    effects = autopilot.close_lost(m, [NEW, INVITED], NOW, CloseLost("x", "x"))
    assert effects == [Schedule(None, "closed"), Record("x", "closed_lost", "x"), Sync()]
    assert (m.stage_id, m.status, m.lost_reason) == (INVITED.id, DealStatus.lost, "x")


# --- the deal's time came --------------------------------------------------------------


def test_wake_up_ends_a_pause() -> None:
    m = memory(status=DealStatus.paused, paused_until=NOW)
    autopilot.wake_up(m, NOW)
    assert (m.status, m.paused_until) == (DealStatus.active, None)
    assert last_note(m) == "Resumed after the pause ended"


def test_when_due_asks_the_ai_inside_the_window() -> None:
    m = memory(NEW)
    e = engagement(sent=0)
    assert autopilot.when_due(m, ctx(), e, NOW) == [AskAI(INVITED, e, 3), Sync()]
    m.first_draft_id = 12  # a person's first email: no AI decision
    assert autopilot.when_due(m, ctx(), e, NOW) == [SendInto(INVITED), Sync()]


def test_when_due_outside_the_window_waits_for_it() -> None:
    m = memory()
    [schedule, sync] = autopilot.when_due(m, ctx(), engagement(), NIGHT)
    assert isinstance(schedule, Schedule)
    assert schedule.reason == "send window opens"
    assert schedule.at is not None
    assert schedule.at.date() == date(2026, 3, 5)
    assert sync == Sync()
    assert last_note(m).startswith("Outside the send window")


def test_when_due_closes_suppressed_expired_and_ghost_deals() -> None:
    [close] = autopilot.when_due(memory(), ctx(suppressed=True), engagement(), NOW)
    assert isinstance(close, CloseLost)
    assert (close.decision, close.stage_id) == ("suppressed", LOST.id)
    [close] = autopilot.when_due(memory(FINAL), ctx(), engagement(sent=2, opened=1), NOW)
    assert isinstance(close, CloseLost)
    assert close.decision == "final_expired"
    [close] = autopilot.when_due(memory(), ctx(), engagement(sent=3, unopened=3), NOW)
    assert isinstance(close, CloseLost)
    assert close.decision == "ghost"


def test_when_due_rests_once_per_burnout() -> None:
    m = memory()
    e = engagement(sent=4, opened=1, unopened=3)
    schedule, record, sync = autopilot.when_due(m, ctx(), e, NOW)
    assert isinstance(schedule, Schedule)
    assert schedule.reason == "burnout pause over"
    assert record == Record("burnout", "wait_7_days", last_note(m))
    assert sync == Sync()
    assert m.burnout_waited
    assert isinstance(autopilot.when_due(m, ctx(), e, NOW)[0], AskAI)  # rested: try again


def test_when_due_in_stages_the_autopilot_does_not_send_from() -> None:
    e = engagement()
    assert autopilot.when_due(memory(RESPONDED), ctx(), e, NOW) == [
        Schedule(None, "waiting for a person"),
        Sync(),
    ]
    replied = Engagement(EngagementStats(2, 1, 0, 1, 0, last_open_at=NOW), "engaged")
    assert autopilot.when_due(memory(FINAL), ctx(), replied, NOW) == [
        Schedule(None, "end of the automatic sequence"),
        Sync(),
    ]


def test_when_due_review_mode_and_entry_emails_come_first() -> None:
    e = engagement()
    pending = memory(review=review())
    assert autopilot.when_due(pending, ctx(), e, NOW) == [
        Schedule(None, "waiting for review"),
        Sync(),
    ]
    approved = memory(review=review(approved=True))
    assert autopilot.when_due(approved, ctx(), e, NOW) == [SendReviewed(), Sync()]
    won = memory(WON, status=DealStatus.won, send_on_enter_pending=True)
    assert autopilot.when_due(won, ctx(), e, NOW) == [SendOnEnter(WON)]


def test_when_due_refuses_a_stage_that_vanished() -> None:
    with pytest.raises(ApplicationError) as err:
        autopilot.when_due(memory(), ctx(stages=[NEW, LOST]), engagement(), NOW)
    assert err.value.type == "InvalidDeal"


@pytest.mark.parametrize(
    ("action", "expected", "status"),
    [
        ("send_email", SendInto(FINAL), DealStatus.active),
        ("wait", Schedule(NOW + timedelta(days=5), "wait"), DealStatus.active),
        ("change_approach", Schedule(NOW + timedelta(days=2), "change_approach"), "active"),
        ("pause", Schedule(None, "paused by the AI"), DealStatus.paused),
        ("flag_for_review", Schedule(None, "flagged for review"), DealStatus.active),
    ],
)
def test_ai_actions(action: str, expected: object, status: str) -> None:
    m = memory()
    wait_days = 5 if action == "wait" else None
    analysis = AnalyzeResult(action, "because", wait_days=wait_days, approach_note="shorter")
    assert autopilot.on_ai_action(m, analysis, FINAL, NOW) == [expected]
    assert m.status == status
    assert m.last_decision == f"{action}: because"
    assert last_note(m) == f"AI decided {action}: because"
    assert m.approach_note == ("shorter" if action in ("wait", "change_approach") else None)


# --- sending ---------------------------------------------------------------------------


def test_send_outcomes() -> None:
    m = memory(first_draft_id=3, burnout_waited=True, review=review(approved=True))
    sent = SendOutcome(status=SendStatus.sent, subject="Hello")
    assert autopilot.on_send_outcome(m, FINAL, sent, NOW) == []
    assert (m.steps, m.emails_sent, m.first_draft_id, m.review) == (1, 1, None, None)
    assert not m.burnout_waited
    assert last_note(m) == "Sent Final: \u201cHello\u201d"
    later = NOW + timedelta(hours=1)
    deferred = SendOutcome(status=SendStatus.deferred, retry_at=later, detail="cap")
    assert autopilot.on_send_outcome(m, FINAL, deferred, NOW) == [
        Schedule(later, "daily cap or send gap")
    ]
    unknown = SendOutcome(status=SendStatus.unknown, detail="timeout")
    assert autopilot.on_send_outcome(m, FINAL, unknown, NOW) == [
        Schedule(None, "send unknown: needs review"),
        Record("send_failed", "unknown", "timeout"),
    ]
    assert (m.steps, m.status) == (2, DealStatus.paused)  # the step is spent: never resent
    won = memory(status=DealStatus.won)
    autopilot.on_send_outcome(won, WON, SendOutcome(status=SendStatus.failed), NOW)
    assert (won.status, won.steps) == (DealStatus.won, 0)


def test_after_send_into() -> None:
    sent = SendOutcome(status=SendStatus.sent)
    assert autopilot.after_send_into(FINAL, sent) == [EnterStage(FINAL, "Final sent")]
    suppressed = SendOutcome(status=SendStatus.suppressed)
    assert autopilot.after_send_into(FINAL, suppressed) == [CloseLost("suppressed", "suppressed")]
    rejected = SendOutcome(status=SendStatus.rejected, detail="550 no such user")
    assert autopilot.after_send_into(FINAL, rejected) == [
        Suppress(SuppressionReason.hard_bounce, "550 no such user"),
        CloseLost("address rejected: 550 no such user", "rejected"),
    ]
    assert autopilot.after_send_into(FINAL, SendOutcome(status=SendStatus.review)) == []


def test_review_mode_holds_other_sends_back() -> None:
    m = memory(review=review())
    assert autopilot.held_back(m, FINAL) == SendOutcome(status="review", detail="draft 40")
    m.review = review(approved=True)
    assert autopilot.held_back(m, FINAL) is None
    assert autopilot.held_back(m, INVITED) is not None  # approved for another stage
    m.first_draft_id = 5  # a person's own draft is never held
    assert autopilot.held_back(m, INVITED) is None


def test_holding_an_email_for_review() -> None:
    m = memory(steps=1)
    held = ReviewHold(draft_id=41, subject="Hi Raj")
    effects = autopilot.on_held(m, FINAL, held, NOW, on_enter=False)
    assert effects == [Schedule(None, "waiting for review")]
    assert m.review == PendingReview(41, FINAL.id, "Final", 2, NOW, "Hi Raj", False, False)


def test_entry_email_checks_suppression_and_the_window() -> None:
    won = memory(WON, status=DealStatus.won, send_on_enter_pending=True)
    reason = "unsubscribed"
    assert autopilot.send_on_enter(won, ctx(suppressed=True, suppression_reason=reason), WON, NOW)
    assert not won.send_on_enter_pending
    assert won.status == DealStatus.won
    assert last_note(won) == "Won email not sent: unsubscribed"
    active = memory(RESPONDED, send_on_enter_pending=True)
    assert autopilot.send_on_enter(active, ctx(suppressed=True), RESPONDED, NOW) == [
        CloseLost("suppressed: None", "suppressed")
    ]
    night = memory(WON, status=DealStatus.won, send_on_enter_pending=True)
    [schedule, _] = autopilot.send_on_enter(night, ctx(), WON, NIGHT)
    assert isinstance(schedule, Schedule)
    assert night.send_on_enter_pending
    assert autopilot.send_on_enter(night, ctx(), WON, NOW) == [SendEntryEmail(WON, True)]
    assert not night.send_on_enter_pending


def test_after_the_entry_email() -> None:
    m = memory(WON, status=DealStatus.won)
    deferred = SendOutcome(status=SendStatus.deferred)
    assert autopilot.after_entry_email(m, deferred, won=True) == [Sync()]
    assert m.send_on_enter_pending  # tried again when the cap or gap allows
    sent = SendOutcome(status=SendStatus.sent)
    assert autopilot.after_entry_email(m, sent, won=True) == [Schedule(None, "won"), Sync()]
    suppressed = SendOutcome(status=SendStatus.suppressed, detail="complaint")
    assert autopilot.after_entry_email(m, suppressed, won=True) == [Sync()]
    assert autopilot.after_entry_email(m, suppressed, won=False) == [
        CloseLost("complaint", "suppressed")
    ]


def test_sending_an_approved_review_email() -> None:
    m = memory(review=review(approved=True))
    assert autopilot.approved_while_paused(m, FINAL, NOW) == []
    assert autopilot.send_approved(m, ctx(), FINAL, NOW) == [SendInto(FINAL)]
    [close] = autopilot.send_approved(m, ctx(suppressed=True, suppression_reason="x"), FINAL, NOW)
    assert close == CloseLost("suppressed: x", "suppressed")
    [wait] = autopilot.send_approved(m, ctx(), FINAL, NIGHT)
    assert isinstance(wait, Schedule)
    assert wait.reason == "approved Final email when the window opens"
    m.status = DealStatus.paused
    assert autopilot.approved_while_paused(m, FINAL, NOW) == [
        Schedule(NOW, "approved Final email, once resumed")
    ]
    entry = memory(WON, status=DealStatus.won, review=review(approved=True, on_enter=True))
    assert autopilot.send_approved(entry, ctx(), WON, NOW) == [SendOnEnter(WON)]
    assert entry.send_on_enter_pending


# --- signals ---------------------------------------------------------------------------


def test_unsubscribe_and_complaint_suppress_then_close() -> None:
    m = memory()
    assert decisions.on_unsubscribed(m, NOW) == [
        Suppress(SuppressionReason.unsubscribed, "unsubscribe link"),
        CloseLost("unsubscribed", "unsubscribed"),
    ]
    assert last_note(m) == "Unsubscribed"
    assert decisions.on_complained(m, NOW) == [
        Suppress(SuppressionReason.complaint, "spam complaint"),
        CloseLost("spam complaint", "complaint"),
    ]


def test_bounces_close_on_the_first_hard_or_the_third_soft() -> None:
    m = memory()
    soft = BounceEvent(hard=False, reason="mailbox full")
    assert decisions.on_bounced(m, soft, NOW) == []
    assert decisions.on_bounced(m, soft, NOW) == []
    assert decisions.on_bounced(m, soft, NOW) == [
        Suppress(SuppressionReason.hard_bounce, "mailbox full"),
        CloseLost("bounced: mailbox full", "bounce"),
    ]
    assert [e.text for e in m.timeline][-2:] == [
        "Soft bounce 3: mailbox full",
        "Bounced: mailbox full",
    ]
    hard = decisions.on_bounced(memory(), BounceEvent(reason="no such user"), NOW)
    assert hard[-1] == CloseLost("bounced: no such user", "bounce")


def test_opens_and_clicks_count_and_rescore() -> None:
    m = memory()
    assert decisions.on_opened(m, EngagementEvent(is_bot=True), NOW) == [RefreshEngagement()]
    assert last_note(m) == "Opened an email (scanner)"
    assert decisions.on_clicked(m, EngagementEvent(url="https://x.test"), NOW) == [
        RefreshEngagement()
    ]
    assert (m.opens, m.clicks, last_note(m)) == (1, 1, "Clicked https://x.test")


def test_pause_and_resume() -> None:
    m = memory(next_action_at=NOW - timedelta(hours=2), next_action_reason="next follow-up")
    assert decisions.on_pause(m, "", NOW) == []
    assert m.status == DealStatus.paused
    assert last_note(m) == "Paused: by an operator"
    assert decisions.on_resume(m, NOW) == [Schedule(NOW, "next follow-up")]  # overdue: now
    assert (m.status, last_note(m)) == (DealStatus.active, "Resumed")
    assert decisions.on_resume(m, NOW) == []  # not paused: nothing
    won = memory(status=DealStatus.won)
    decisions.on_pause(won, "x", NOW)
    assert won.status == DealStatus.won
    assert not won.timeline
    later = memory(status=DealStatus.paused, next_action_at=NOW + timedelta(days=1))
    assert decisions.on_resume(later, NOW) == []


# --- replies ---------------------------------------------------------------------------

REPLY = ReplyEvent(text="Sounds good")


def verdict(intent: str, **kw: object) -> ReplyVerdict:
    return ReplyVerdict(intent, "neutral", f"{intent} summary", **kw)  # type: ignore[arg-type]


def test_interested_reply_moves_to_responded_and_drafts_an_answer() -> None:
    m = memory()
    effects = decisions.on_reply(
        m, ctx(), REPLY, verdict("interested", suggested_reply="Great"), NOW, refresh_tier=True
    )
    assert effects == [
        RefreshEngagement(),
        EnterStage(RESPONDED, "reply: interested"),
        Schedule(None, "reply needs a person"),
        DraftReply(REPLY, "Great"),
    ]
    assert (m.replies, m.last_decision) == (1, "reply classified interested")
    assert last_note(m) == "Replied (interested, neutral): interested summary"


def test_a_question_outside_the_sequence_stays_in_its_stage() -> None:
    m = memory(RESPONDED)
    effects = decisions.on_reply(m, ctx(), REPLY, verdict("question"), NOW, refresh_tier=False)
    assert effects == [Schedule(None, "reply needs a person"), DraftReply(REPLY, None)]


@pytest.mark.parametrize(
    ("intent", "expected", "replies"),
    [
        ("not_interested", [CloseLost("not interested", "reply_not_interested")], 1),
        (
            "unsubscribe",
            [
                Suppress(SuppressionReason.unsubscribed, "asked by reply"),
                CloseLost("asked to be removed", "reply_unsubscribe"),
            ],
            1,
        ),
        (
            "bounce",
            [
                Suppress(SuppressionReason.hard_bounce, "bounce summary"),
                CloseLost("bounced", "reply_bounce"),
            ],
            0,
        ),
    ],
)
def test_replies_that_close_the_deal(intent: str, expected: list[object], replies: int) -> None:
    m = memory()
    assert decisions.on_reply(m, ctx(), REPLY, verdict(intent), NOW, refresh_tier=False) == (
        expected
    )
    assert m.replies == replies


def test_out_of_office_pauses_until_the_business_day_after_the_return_date() -> None:
    m = memory()
    back = date(2026, 3, 6)  # a Friday: write on Monday
    effects = decisions.on_reply(
        m, ctx(), REPLY, verdict("out_of_office", return_date=back), NOW, refresh_tier=True
    )
    monday = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert effects == [Record("out_of_office", "paused", "resumes 2026-03-09 09:00 UTC")]
    assert (m.status, m.paused_until, m.replies) == (DealStatus.paused, monday, 0)
    assert last_note(m) == "Out of office until 06 Mar 2026: paused"


def test_out_of_office_without_a_date_waits_a_week() -> None:
    m = memory()
    decisions.on_reply(m, ctx(), REPLY, verdict("out_of_office"), NOW, refresh_tier=False)
    assert m.paused_until == datetime(2026, 3, 12, 9, 0, tzinfo=UTC)  # back 11 Mar, a Wednesday


@pytest.mark.parametrize("intent", ["referral", "something_new"])
def test_a_referral_or_an_unknown_intent_stops_the_sequence_for_a_person(intent: str) -> None:
    m = memory()
    effects = decisions.on_reply(m, ctx(), REPLY, verdict(intent), NOW, refresh_tier=False)
    assert effects == [
        EnterStage(RESPONDED, f"reply: {intent}"),
        Schedule(None, "reply needs a person"),
    ]
    assert m.replies == 1


def test_an_auto_reply_changes_nothing_and_the_sequence_carries_on() -> None:
    m = memory(next_action_at=NOW + timedelta(days=2))
    effects = decisions.on_reply(m, ctx(), REPLY, verdict("auto_reply"), NOW, refresh_tier=True)
    assert effects == []
    assert (m.status, m.replies, m.paused_until) == (DealStatus.active, 0, None)
    assert m.next_action_at == NOW + timedelta(days=2)


def test_a_contact_who_left_closes_the_deal_without_suppressing_the_address() -> None:
    m = memory()
    effects = decisions.on_reply(m, ctx(), REPLY, verdict("left_company"), NOW, refresh_tier=True)
    assert effects == [CloseLost("contact left the company", "reply_left_company")]
    assert m.replies == 0


def test_a_low_confidence_reading_pauses_the_deal_for_a_person() -> None:
    m = memory()
    doubtful = verdict(
        "not_interested", confidence=0.3, needs_person=True, suggested_reply="Thanks!"
    )
    effects = decisions.on_reply(m, ctx(), REPLY, doubtful, NOW, refresh_tier=True)
    reading = (
        "read as not_interested at confidence 0.30, below the review threshold: "
        "not_interested summary"
    )
    assert effects == [
        RefreshEngagement(),
        Record("reply_review", "held for a person", reading),
        Schedule(None, "reply needs a person"),
        DraftReply(REPLY, "Thanks!", note=f"Low-confidence reading: {reading}"),
    ]
    assert (m.status, m.paused_until, m.replies) == (DealStatus.paused, None, 1)
    assert last_note(m) == "Paused: a person should read the reply"


# --- updates ---------------------------------------------------------------------------


def test_updates_refuse_closed_deals() -> None:
    decisions.require_open(memory(status=DealStatus.paused))
    for status in (DealStatus.won, DealStatus.lost):
        with pytest.raises(ApplicationError) as err:
            decisions.require_open(memory(status=status))
        assert err.value.type == "DealClosed"
        assert err.value.message == f"the deal is already {status}"


def test_move_stage_by_id_slug_or_name() -> None:
    assert decisions.resolve_stage(ctx(), MoveStageRequest(stage_id=WON.id)) == WON
    assert decisions.resolve_stage(ctx(), MoveStageRequest(stage="responded")) == RESPONDED
    with pytest.raises(ApplicationError) as err:
        decisions.resolve_stage(ctx(), MoveStageRequest(stage="Nowhere"))
    assert err.value.type == "InvalidStage"
    assert decisions.move_stage(LOST, MoveStageRequest(stage="lost", actor="ops")) == [
        DiscardReview("moved to Lost"),
        EnterStage(LOST, "moved by ops", "moved to a lost stage"),
        Record("move_stage", "moved_to:lost", "ops"),
        Sync(),
    ]
    req = MoveStageRequest(stage="won", reason="signed")
    assert decisions.move_stage(WON, req)[1] == EnterStage(WON, "signed", None)


def test_mark_won_and_lost() -> None:
    assert decisions.mark_won(STAGES, CloseRequest(actor="ops")) == [
        DiscardReview("marked won"),
        EnterStage(WON, "marked won by ops"),
        Record("mark_won", "won", "ops"),
        Sync(),
    ]
    with pytest.raises(ApplicationError) as err:
        decisions.mark_won([NEW, LOST], CloseRequest())
    assert err.value.type == "InvalidStage"
    assert decisions.mark_lost(CloseRequest(reason="budget")) == [CloseLost("budget", "mark_lost")]


def test_set_next_action() -> None:
    m = memory()
    at = NOW + timedelta(days=2)
    assert decisions.set_next_action(m, NextActionRequest(at, "call back"), NOW) == [
        Schedule(at, "call back"),
        Sync(),
    ]
    assert last_note(m) == "Next action set to 2026-03-06 10:00 UTC: call back"
    with pytest.raises(ApplicationError) as err:
        decisions.check_next_action(NextActionRequest(datetime(2026, 3, 6, 10, 0)))
    assert err.value.type == "InvalidInput"


@pytest.mark.parametrize(
    ("pending", "decision", "error"),
    [
        (review(), ReviewDecision(40, "maybe"), "InvalidInput"),
        (None, ReviewDecision(40, "approve"), "NoPendingReview"),
        (review(), ReviewDecision(41, "approve"), "NotPendingReview"),
        (review(approved=True), ReviewDecision(40, "approve"), "AlreadyReviewed"),
        (review(), ReviewDecision(40, "edit", subject="Hi", body=" "), "InvalidInput"),
    ],
)
def test_review_decisions_are_checked(
    pending: PendingReview | None, decision: ReviewDecision, error: str
) -> None:
    with pytest.raises(ApplicationError) as err:
        decisions.check_review(memory(review=pending), decision)
    assert err.value.type == error


def test_a_lost_deals_review_is_refused_a_won_deals_is_not() -> None:
    decision = ReviewDecision(40, "approve")
    decisions.check_reviewable(memory(status=DealStatus.won, review=review()), decision)
    with pytest.raises(ApplicationError) as err:
        decisions.check_reviewable(memory(status=DealStatus.lost, review=review()), decision)
    assert err.value.type == "DealClosed"


def test_approving_and_editing_send_the_draft() -> None:
    m = memory(review=review())
    edit = ReviewDecision(40, "edit", subject="Better", body="Body", reviewer="ann", note="ok")
    assert decisions.on_review_decision(m, edit, NOW) == [SendReviewed()]
    assert m.review is not None
    assert m.review.approved
    assert m.review.subject == "Better"
    assert last_note(m) == "Final email edited and approved by ann: ok"
    settlement = decisions.review_settlement(m, edit)
    assert (settlement.action, settlement.subject, settlement.reviewer) == ("edit", "Better", "ann")


def test_rejecting_pauses_an_open_deal_but_not_a_won_one() -> None:
    m = memory(review=review(), paused_until=NOW)
    assert decisions.on_review_decision(m, ReviewDecision(40, "reject"), NOW) == [
        Record("review", "rejected", "rejected by api"),
        Schedule(NOW, "email rejected in review"),
    ]
    assert (m.review, m.status, m.paused_until) == (None, DealStatus.paused, None)
    won = memory(status=DealStatus.won, review=review(on_enter=True))
    decision = ReviewDecision(40, "reject", note="not yet", reviewer="")
    assert decisions.on_review_decision(won, decision, NOW) == [
        Record("review", "rejected", "not yet")
    ]
    assert won.status == DealStatus.won
    assert won.review is None
    assert last_note(won) == "Final email rejected by a person: not yet"
