"""Replies, unsubscribes, bounces and out-of-office: how each changes what the contact gets."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models import DraftStatus, EmailDraft, EmailLog, EmailStatus, Suppression, session_scope
from tests.workflows.conftest import Stack
from tests.workflows.helpers import sent_logs
from tests.workflows.histories import record
from workflows.contracts import BounceEvent, ReplyEvent
from workflows.deal import DealWorkflow

DAY = timedelta(days=1)
SYDNEY = ZoneInfo("Australia/Sydney")


async def _first_email(stack: Stack, email: str, *, brand: str, pipeline: str):
    stack.open_window(brand)
    deal_id, handle = await stack.enrol(email, brand=brand, pipeline=pipeline, name="Sam Lee")
    await stack.env.sleep(timedelta(hours=1))
    timeline = await handle.query(DealWorkflow.timeline)
    assert len(stack.inbox.to(email)) == 1, timeline
    return deal_id, handle


async def test_interested_reply_stops_the_sequence_and_drafts_an_answer(stack: Stack) -> None:
    deal_id, handle = await _first_email(
        stack, "sam@leeplumbing.com.au", brand="codeteki", pipeline="sales"
    )
    await handle.signal(
        DealWorkflow.reply_received,
        ReplyEvent(text="Sounds good, call me Tuesday", subject="Re: your website"),
    )
    await stack.env.sleep(30 * DAY)
    state = await handle.query(DealWorkflow.state)
    await record(handle, "interested_reply")
    assert state.stage == "Responded"
    assert state.tier == "engaged"
    assert state.status == "active"
    assert state.next_action_at is None
    assert len(stack.inbox.to("sam@leeplumbing.com.au")) == 1  # no follow-ups after a reply
    with Session(stack.engine) as s:
        draft = s.exec(select(EmailDraft).where(EmailDraft.deal_id == deal_id)).one()
        log = s.exec(select(EmailLog).where(EmailLog.deal_id == deal_id)).one()
    assert draft.status == DraftStatus.pending_review
    assert draft.subject == "Re: your website"
    assert log.replied
    assert log.reply_content == "Sounds good, call me Tuesday"


async def test_not_interested_reply_closes_the_deal(stack: Stack) -> None:
    _deal_id, handle = await _first_email(
        stack, "no@thanks.com.au", brand="desifirms", pipeline="events"
    )
    await handle.signal(DealWorkflow.reply_received, ReplyEvent(text="No thanks, not interested."))
    result = await handle.result()
    assert result.status == "lost"
    assert result.stage == "Not Interested"
    assert len(stack.inbox.to("no@thanks.com.au")) == 1


async def test_unsubscribe_signal_means_no_email_ever_again(stack: Stack) -> None:
    deal_id, handle = await _first_email(
        stack, "stop@example.com.au", brand="codeteki", pipeline="sales"
    )
    await handle.signal(DealWorkflow.unsubscribed)
    result = await handle.result()
    await stack.env.sleep(30 * DAY)
    assert result.status == "lost"
    assert result.lost_reason == "unsubscribed"
    assert len(stack.inbox.to("stop@example.com.au")) == 1
    with Session(stack.engine) as s:
        row = s.exec(select(Suppression).where(Suppression.email == "stop@example.com.au")).one()
    assert row.reason == "unsubscribed"


async def test_unsubscribe_recorded_before_a_due_send_wins_the_race(stack: Stack) -> None:
    """The unsubscribe endpoint commits the suppression before the signal reaches the deal;
    a follow-up due in between must see it and not go out."""
    deal_id, handle = await _first_email(
        stack, "race@example.com.au", brand="codeteki", pipeline="sales"
    )
    brand = stack.brand("codeteki")
    with session_scope(stack.engine) as s:
        s.add(
            Suppression(brand_id=brand.id or 0, email="race@example.com.au", reason="unsubscribed")
        )
    result = await handle.result()  # the follow-up comes due 3 days later and finds it
    assert result.status == "lost"
    assert len(stack.inbox.to("race@example.com.au")) == 1
    assert len(sent_logs(stack.engine, deal_id)) == 1


async def test_hard_bounce_closes_and_suppresses(stack: Stack) -> None:
    _deal_id, handle = await _first_email(
        stack, "gone@nowhere.com.au", brand="desifirms", pipeline="classifieds"
    )
    await handle.signal(DealWorkflow.bounced, BounceEvent(hard=True, reason="550 no such user"))
    result = await handle.result()
    assert result.status == "lost"
    assert "bounced" in result.lost_reason
    with Session(stack.engine) as s:
        row = s.exec(select(Suppression).where(Suppression.email == "gone@nowhere.com.au")).one()
    assert row.reason == "hard_bounce"


async def test_soft_bounces_count_before_closing(stack: Stack) -> None:
    _deal_id, handle = await _first_email(
        stack, "full@mailbox.com.au", brand="desifirms", pipeline="classifieds"
    )
    await handle.signal(DealWorkflow.bounced, BounceEvent(hard=False, reason="mailbox full"))
    await stack.env.sleep(timedelta(minutes=5))
    assert (await handle.query(DealWorkflow.state)).status == "active"
    for _ in range(2):
        await handle.signal(DealWorkflow.bounced, BounceEvent(hard=False, reason="mailbox full"))
    result = await handle.result()
    assert result.status == "lost"


async def test_out_of_office_pauses_until_after_the_return_date(stack: Stack) -> None:
    deal_id, handle = await _first_email(
        stack, "away@holiday.com.au", brand="codeteki", pipeline="sales"
    )
    now = await stack.env.get_current_time()
    back = (now + 10 * DAY).date()
    await handle.signal(
        DealWorkflow.reply_received,
        ReplyEvent(text=f"I'm out of office until {back:%d %B %Y}.", received_at=now),
    )
    await stack.env.sleep(timedelta(minutes=10))
    state = await handle.query(DealWorkflow.state)
    assert state.status == "paused"
    assert state.paused_until is not None
    assert state.paused_until.astimezone(SYDNEY).date() > back  # back + 1 business day
    resume_at = state.paused_until
    # Still away until just before the resume time: nothing more is sent.
    await stack.env.sleep(resume_at - await stack.env.get_current_time() - timedelta(hours=1))
    assert len(stack.inbox.to("away@holiday.com.au")) == 1
    await stack.env.sleep(2 * DAY)  # back: the sequence resumes with the next follow-up
    state = await handle.query(DealWorkflow.state)
    await record(handle, "out_of_office_resume")
    assert state.status == "active"
    logs = sent_logs(stack.engine, deal_id)
    assert len(logs) == 2
    assert logs[1].sent_at is not None
    assert logs[1].sent_at.astimezone(SYDNEY).date() > back
    assert all(log.status == EmailStatus.sent for log in logs)


async def test_a_redelivered_event_is_acted_on_once(stack: Stack) -> None:
    _deal_id, handle = await _first_email(
        stack, "twice@example.com.au", brand="desifirms", pipeline="classifieds"
    )
    for _ in range(3):  # the relay retried after losing the acknowledgement
        await handle.signal(
            DealWorkflow.bounced, BounceEvent(hard=False, reason="mailbox full", event_id=7)
        )
    await stack.env.sleep(timedelta(minutes=5))
    state = await handle.query(DealWorkflow.state)
    assert state.status == "active"  # one soft bounce, not three
    timeline = await handle.query(DealWorkflow.timeline)
    assert sum(e.kind == "bounce" for e in timeline) == 1
