"""A send whose outcome is unknown (a worker died mid-send) is looked up in a real dovecot Sent
folder: found → marked sent and nothing goes out; not found → sent exactly once, with the
same Message-ID; the ledger says which. Real SMTP (aiosmtpd), PostgreSQL or SQLite, dovecot."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
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


CLAIMED_AT = datetime(2026, 3, 2, 0, 15, 7, tzinfo=UTC)
NOW = CLAIMED_AT + timedelta(minutes=5)  # the retry's clock: the claim is past its lease
UNFINISHED = "the attempt that claimed it at 00:15:07 UTC did not finish within 40s"


def left_sending(
    stack: Stack, deal_id: int, *, step: int, message_id: str, claimed_at: datetime = CLAIMED_AT
) -> SendRequest:
    """What a worker killed mid-send leaves behind: the row `sending`, its Message-ID chosen,
    claimed at `claimed_at`."""
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
                sent_at=claimed_at,
            )
        )
        return SendRequest(deal_id=deal_id, stage_id=stage.id or 0, step=step, variant="A")


def attempt_at(now: datetime) -> ActivityEnvironment:
    """An activity attempt whose clock (its scheduled time) is `now`."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, current_attempt_scheduled_time=now)
    return env


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

    outcome = await attempt_at(NOW).run(send, request)
    again = await attempt_at(NOW).run(send, request)  # a later retry changes nothing

    assert outcome.status == "sent"
    assert outcome.message_id == message_id
    assert again.status == "sent"
    assert stack.inbox.to("found@example.com.au") == []
    row = ledger(stack, deal_id, 1)
    assert row.status == EmailStatus.sent
    assert row.error == f"found in IMAP folder 'Sent' after {UNFINISHED}"


async def test_not_found_in_sent_is_sent_exactly_once(stack: Stack, mailbox: Mailbox) -> None:
    stack.open_window("codeteki")
    deal_id = stack.create_deal("lost@example.com.au", brand="codeteki", pipeline="sales").deal_id
    message_id = f"<dp.{deal_id}.1.d4e5f6@codeteki.au>"
    mailbox.create("Sent")
    mailbox.append(sent_copy(f"<dp.{deal_id}.0.other@codeteki.au>"), folder="Sent")
    request = left_sending(stack, deal_id, step=1, message_id=message_id)
    send = send_activity(stack, mailbox)

    outcome = await attempt_at(NOW).run(send, request)
    again = await attempt_at(NOW).run(send, request)

    assert outcome.status == "sent"
    assert again.status == "sent"
    received = stack.inbox.to("lost@example.com.au")
    assert len(received) == 1
    assert received[0]["Message-ID"] == message_id  # the same message, not a new one
    row = ledger(stack, deal_id, 1)
    assert row.status == EmailStatus.sent
    assert row.error == f"not found in IMAP folder 'Sent' after {UNFINISHED}; sent again once"


async def test_without_a_readable_sent_folder_it_waits_for_a_person(
    stack: Stack, mailbox: Mailbox
) -> None:
    stack.open_window("codeteki")
    deal_id = stack.create_deal("maybe@example.com.au", brand="codeteki", pipeline="sales").deal_id
    request = left_sending(stack, deal_id, step=1, message_id=f"<dp.{deal_id}.1.x@codeteki.au>")
    send = send_activity(stack, mailbox)  # no Sent folder created: it cannot be read

    outcome = await attempt_at(NOW).run(send, request)

    assert outcome.status == "unknown"
    assert stack.inbox.to("maybe@example.com.au") == []
    row = ledger(stack, deal_id, 1)
    assert row.status == EmailStatus.unknown
    assert row.error.startswith(f"{UNFINISHED}; outcome unknown, not resent")


async def test_a_claim_within_its_lease_is_left_to_its_attempt(
    stack: Stack, mailbox: Mailbox
) -> None:
    """A retry that finds the row claimed moments ago (the claiming attempt may only be waiting
    on a lock) neither looks it up nor marks it: it asks Temporal to try again later."""
    stack.open_window("codeteki")
    deal_id = stack.create_deal("slow@example.com.au", brand="codeteki", pipeline="sales").deal_id
    message_id = f"<dp.{deal_id}.1.slow@codeteki.au>"
    mailbox.create("Sent")  # empty: a lookup now would send it again
    env = attempt_at(NOW)
    request = left_sending(
        stack, deal_id, step=1, message_id=message_id, claimed_at=NOW - timedelta(seconds=5)
    )
    send = send_activity(stack, mailbox)

    with pytest.raises(ApplicationError) as retry:
        await env.run(send, request)

    assert retry.value.type == "TransientMailError"
    assert not retry.value.non_retryable
    assert "may still be sending it" in str(retry.value)
    # Tried again once the claim's lease (40 s from the claim, 5 s ago) has run out.
    assert retry.value.next_retry_delay == timedelta(seconds=36)
    assert stack.inbox.to("slow@example.com.au") == []
    row = ledger(stack, deal_id, 1)
    assert row.status == EmailStatus.sending
    assert row.error == ""
