"""Replies found by polling a real IMAP server (dovecot) reach their deals through the inbox-poll
job workflow, on the time-skipping server with the real deal workflows."""

from __future__ import annotations

import uuid
from datetime import timedelta
from email.utils import format_datetime

import pytest
from sqlmodel import Session, select

from models import EmailEvent, EmailEventType, InboxCursor, utcnow
from tests.inbox.dovecot import Mailbox, imap_settings
from tests.workflows.conftest import Stack
from tests.workflows.helpers import sent_logs
from worker import build_worker
from workflows.deal import DealWorkflow
from workflows.jobs import InboxPollWorkflow, JobInput, PollReport

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(120)]

CONTACT = "sam@leeplumbing.com.au"


async def poll(stack: Stack, box: Mailbox) -> PollReport:
    """One run of the inbox-poll job, on its own worker configured for the test mailbox."""
    settings = imap_settings(stack.settings, box)
    queue = f"jobs-{uuid.uuid4().hex[:8]}"
    worker = build_worker(
        stack.client, settings=settings, engine=stack.engine, ai=stack.worker_ai, task_queue=queue
    )
    async with worker:
        return await stack.client.execute_workflow(
            InboxPollWorkflow.run,
            JobInput(),
            id=f"inbox-poll-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
            result_type=PollReport,
        )


def message(*, sender: str, subject: str, body: str, message_id: str, extra: str = "") -> bytes:
    return (
        f"From: Sam Lee <{sender}>\n"
        "To: hello@codeteki.au\n"
        f"Subject: {subject}\n"
        f"Date: {format_datetime(utcnow())}\n"
        f"Message-ID: {message_id}\n"
        f"{extra}"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        f"{body}\n"
    ).encode()


async def first_email(stack: Stack):  # type: ignore[no-untyped-def]
    stack.open_window("codeteki")
    deal_id, handle = await stack.enrol(CONTACT, brand="codeteki", pipeline="sales", name="Sam")
    await stack.env.sleep(timedelta(hours=1))
    logs = sent_logs(stack.engine, deal_id)
    assert len(logs) == 1
    return deal_id, handle, logs[0]


async def test_a_reply_moves_the_deal_to_responded_once(stack: Stack, mailbox: Mailbox) -> None:
    deal_id, handle, sent = await first_email(stack)
    brand = stack.brand("codeteki")
    # Our own sent mail, as a mailbox that keeps a copy of what we send would hold it.
    mailbox.append(
        message(
            sender=brand.from_email,
            subject=sent.subject,
            body="Hi Sam, quick question",
            message_id=sent.message_id or "",
        )
    )
    mailbox.append(
        message(
            sender=CONTACT,
            subject=f"Re: {sent.subject}",
            body=(
                "Sounds good, call me Tuesday.\n\n"
                "On Mon, 2 Mar 2026, Codeteki <hello@codeteki.au> wrote:\n> Hi Sam, quick question"
            ),
            message_id="<reply-1@leeplumbing.com.au>",
            extra=f"In-Reply-To: {sent.message_id}\nReferences: {sent.message_id}\n",
        )
    )

    report = await poll(stack, mailbox)
    assert (report.handled, report.replies, report.skipped_own) == (2, 1, 1)
    assert report.deal_ids == [deal_id]
    await stack.env.sleep(timedelta(minutes=5))
    state = await handle.query(DealWorkflow.state)
    assert state.stage == "Responded"
    with Session(stack.engine) as s:
        events = s.exec(select(EmailEvent)).all()
        cursor = s.exec(select(InboxCursor)).one()
    assert [(e.event_type, e.deal_id, e.email_log_id) for e in events] == [
        (EmailEventType.reply, deal_id, sent.id)
    ]
    assert events[0].payload["text"] == "Sounds good, call me Tuesday."  # history stripped
    assert events[0].delivered_at is not None
    assert cursor.state["last_uid"] == 2

    again = await poll(stack, mailbox)
    assert (again.handled, again.replies) == (0, 0)
    with Session(stack.engine) as s:
        assert len(s.exec(select(EmailEvent)).all()) == 1


async def test_an_out_of_office_auto_reply_pauses_the_deal(stack: Stack, mailbox: Mailbox) -> None:
    _deal_id, handle, sent = await first_email(stack)
    mailbox.append(
        message(
            sender=CONTACT,
            subject=f"Re: {sent.subject}",
            body="I'm out of the office with limited access to email. I will respond when I can.",
            message_id="<ooo-1@leeplumbing.com.au>",
            extra=f"In-Reply-To: {sent.message_id}\nAuto-Submitted: auto-replied\n",
        )
    )
    report = await poll(stack, mailbox)
    assert report.auto_replies == 1
    await stack.env.sleep(timedelta(minutes=5))
    state = await handle.query(DealWorkflow.state)
    assert state.status == "paused"
    assert state.stage != "Responded"
    with Session(stack.engine) as s:
        event = s.exec(select(EmailEvent)).one()
    assert event.payload["raw"]["auto_reply"] is True
    assert event.payload["raw"]["headers"]["auto-submitted"] == "auto-replied"


async def test_a_ticket_acknowledgement_is_no_reply_and_the_sequence_carries_on(
    stack: Stack, mailbox: Mailbox
) -> None:
    _deal_id, handle, sent = await first_email(stack)
    before = await handle.query(DealWorkflow.state)
    mailbox.append(
        message(
            sender="support@leeplumbing.com.au",
            subject=f"[Ticket #4821] Re: {sent.subject}",
            body="We have received your request. A ticket has been created.",
            message_id="<ticket-1@leeplumbing.com.au>",
            extra=f"In-Reply-To: {sent.message_id}\nAuto-Submitted: auto-generated\n",
        )
    )
    report = await poll(stack, mailbox)
    assert report.auto_replies == 1
    await stack.env.sleep(timedelta(minutes=5))
    state = await handle.query(DealWorkflow.state)
    assert (state.status, state.stage) == ("active", before.stage)
    assert state.next_action_at == before.next_action_at
    assert state.last_decision == "reply classified auto_reply"


async def test_newsletters_are_skipped_and_bounces_become_bounce_events(
    stack: Stack, mailbox: Mailbox
) -> None:
    deal_id, handle, sent = await first_email(stack)
    mailbox.append(
        message(
            sender="news@vendor.example",
            subject="Our November newsletter",
            body="News!",
            message_id="<news-1@vendor.example>",
            extra="Precedence: bulk\nList-Id: <news.vendor.example>\n",
        )
    )
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example>\n"
        f"To: {stack.brand('codeteki').from_email}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Message-ID: <dsn-1@mx.example>\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n'
        "\n--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
        "--B\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example\n\n"
        f"Final-Recipient: rfc822; {CONTACT}\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n"
        "--B\nContent-Type: text/rfc822-headers\n\n"
        f"Message-ID: {sent.message_id}\nSubject: {sent.subject}\n"
        "--B--\n"
    ).encode()
    mailbox.append(dsn)
    report = await poll(stack, mailbox)
    assert (report.skipped_automated, report.bounces) == (1, 1)
    result = await handle.result()
    assert result.status == "lost"
    with Session(stack.engine) as s:
        event = s.exec(select(EmailEvent)).one()
    assert (event.event_type, event.deal_id, event.email) == (
        EmailEventType.bounce,
        deal_id,
        CONTACT,
    )
