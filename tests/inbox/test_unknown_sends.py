"""A send whose outcome is unknown (a worker died mid-send) is looked up in a real dovecot Sent
folder: found → marked sent and nothing goes out; not found → sent exactly once, with the
same Message-ID; the ledger says which. Real SMTP (aiosmtpd), PostgreSQL or SQLite, dovecot."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlmodel import Session, select
from temporalio.testing import ActivityEnvironment

from models import EmailLog, EmailStatus, PipelineStage, session_scope
from tests.inbox.dovecot import Mailbox, imap_settings
from tests.inbox.test_sent_lookup import sent_copy
from tests.workflows.conftest import Stack
from worker import build_activities
from workflows.contracts import SendOutcome, SendRequest

pytestmark = pytest.mark.timeout(120)


def send_activity(stack: Stack, box: Mailbox) -> Callable[[SendRequest], Awaitable[SendOutcome]]:
    settings = imap_settings(stack.settings, box)
    activities = build_activities(settings=settings, engine=stack.engine, ai=stack.worker_ai)
    send: Any = next(a for a in activities if getattr(a, "__name__", "") == "send_stage_email")
    return send  # type: ignore[no-any-return]


def left_sending(stack: Stack, deal_id: int, *, step: int, message_id: str) -> SendRequest:
    """What a worker killed mid-send leaves behind: the row `sending`, its Message-ID chosen."""
    with session_scope(stack.engine) as s:
        stage = s.exec(select(PipelineStage).where(PipelineStage.slug == "intro_sent")).first()
        assert stage is not None
        s.add(
            EmailLog(
                idempotency_key=f"deal-{deal_id}:step-{step}",
                brand_id=stack.brand("codeteki").id or 0,
                deal_id=deal_id,
                stage_id=stage.id,
                to_email="",
                subject="Intro",
                message_id=message_id,
                status=EmailStatus.sending,
            )
        )
        return SendRequest(deal_id=deal_id, stage_id=stage.id or 0, step=step, variant="A")


def ledger(stack: Stack, deal_id: int, step: int) -> EmailLog:
    with Session(stack.engine) as s:
        key = f"deal-{deal_id}:step-{step}"
        return s.exec(select(EmailLog).where(EmailLog.idempotency_key == key)).one()


async def test_found_in_sent_is_marked_sent_and_not_sent_again(
    stack: Stack, mailbox: Mailbox
) -> None:
    stack.open_window("codeteki")
    deal_id = stack.create_deal("found@example.com.au", brand="codeteki", pipeline="sales").deal_id
    message_id = f"<dp.{deal_id}.1.a1b2c3@codeteki.au>"
    mailbox.create("Sent")
    mailbox.append(sent_copy(message_id), folder="Sent")
    request = left_sending(stack, deal_id, step=1, message_id=message_id)
    send = send_activity(stack, mailbox)

    outcome = await ActivityEnvironment().run(send, request)
    again = await ActivityEnvironment().run(send, request)  # a later retry changes nothing

    assert outcome.status == "sent"
    assert outcome.message_id == message_id
    assert again.status == "sent"
    assert stack.inbox.to("found@example.com.au") == []
    row = ledger(stack, deal_id, 1)
    assert row.status == EmailStatus.sent
    assert row.error == "found in IMAP folder 'Sent' after the worker stopped while sending"


async def test_not_found_in_sent_is_sent_exactly_once(stack: Stack, mailbox: Mailbox) -> None:
    stack.open_window("codeteki")
    deal_id = stack.create_deal("lost@example.com.au", brand="codeteki", pipeline="sales").deal_id
    message_id = f"<dp.{deal_id}.1.d4e5f6@codeteki.au>"
    mailbox.create("Sent")
    mailbox.append(sent_copy(f"<dp.{deal_id}.0.other@codeteki.au>"), folder="Sent")
    request = left_sending(stack, deal_id, step=1, message_id=message_id)
    send = send_activity(stack, mailbox)

    outcome = await ActivityEnvironment().run(send, request)
    again = await ActivityEnvironment().run(send, request)

    assert outcome.status == "sent"
    assert again.status == "sent"
    received = stack.inbox.to("lost@example.com.au")
    assert len(received) == 1
    assert received[0]["Message-ID"] == message_id  # the same message, not a new one
    row = ledger(stack, deal_id, 1)
    assert row.status == EmailStatus.sent
    assert row.error == (
        "not found in IMAP folder 'Sent' after the worker stopped while sending; sent again once"
    )


async def test_without_a_readable_sent_folder_it_waits_for_a_person(
    stack: Stack, mailbox: Mailbox
) -> None:
    stack.open_window("codeteki")
    deal_id = stack.create_deal("maybe@example.com.au", brand="codeteki", pipeline="sales").deal_id
    request = left_sending(stack, deal_id, step=1, message_id=f"<dp.{deal_id}.1.x@codeteki.au>")
    send = send_activity(stack, mailbox)  # no Sent folder created: it cannot be read

    outcome = await ActivityEnvironment().run(send, request)

    assert outcome.status == "unknown"
    assert stack.inbox.to("maybe@example.com.au") == []
    row = ledger(stack, deal_id, 1)
    assert row.status == EmailStatus.unknown
    assert row.error.startswith("the worker stopped while sending; outcome unknown, not resent")
