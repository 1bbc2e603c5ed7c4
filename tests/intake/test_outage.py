"""Temporal down: the pixel and the reply webhook answer anyway (they only store), and each event
reaches its deal exactly once when Temporal is back."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import update
from sqlmodel import Session, func, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from dealpilot.intake import Relay
from dealpilot.intake.settling import count_unsettled
from dealpilot.temporal.converter import data_converter
from dealpilot.temporal.deals import DealWorkflows
from dealpilot.tracking.tracker import Tracker
from models import EmailEvent, EmailEventType, EmailLog
from models.uow import UnitsOfWork
from tests.intake.conftest import Intake, client_for, intake_app
from tests.intake.test_replies import _generic
from tests.temporal import TEST_SERVER
from tests.waiting import wait_until_async
from workflows.deal import DealWorkflow

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0"
DEALS = 10
OPENS_PER_DEAL = 10


async def _stopped_temporal() -> Client:
    """A client connected to a Temporal server that has since been stopped."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter
    )
    client = env.client
    await env.shutdown()
    return client


def _unsettled(intake: Intake) -> int:
    with Session(intake.stack.engine) as s:
        return count_unsettled(s)


def _by_type(intake: Intake) -> dict[str, int]:
    with Session(intake.stack.engine) as s:
        rows = s.exec(
            select(EmailEvent.event_type, func.count()).group_by(EmailEvent.event_type)
        ).all()
    return {str(kind): int(n) for kind, n in rows}


async def _hit_everything(http: httpx.AsyncClient, logs: list[EmailLog]) -> list[httpx.Response]:
    """100 opens (10 per email, each from another mail client, so none is a duplicate) and one
    signed reply per email, at most 8 in flight."""
    tracker = Tracker("https://crm.example.test", "test-tracking-secret")
    gate = asyncio.Semaphore(8)

    async def pixel(log: EmailLog, n: int) -> httpx.Response:
        assert log.id is not None
        path = urlsplit(tracker.open_url(log.id)).path
        async with gate:
            return await http.get(path, headers={"User-Agent": f"{BROWSER} reader/{n}"})

    async def reply(log: EmailLog) -> httpx.Response:
        body, headers = _generic(log, message_id=f"<outage-{log.id}@example.com>")
        async with gate:
            return await http.post("/api/crm/webhooks/reply", content=body, headers=headers)

    calls = [pixel(log, n) for n in range(OPENS_PER_DEAL) for log in logs]
    calls += [reply(log) for log in logs]
    return list(await asyncio.gather(*calls))


async def test_intake_answers_while_temporal_is_down_and_delivers_each_event_once_after(
    intake: Intake,
) -> None:
    deals = [await intake.first_email(f"outage{i}@leeplumbing.com.au") for i in range(DEALS)]
    logs = [log for _deal_id, _handle, log in deals]

    app = intake_app(intake.stack, temporal=await _stopped_temporal())
    async with app.router.lifespan_context(app), client_for(app) as http:
        answers = await _hit_everything(http, logs)
        relay: Relay = app.state.relay
        # The app's relay was woken, tried, found no Temporal and backs off; nothing delivered.
        await wait_until_async(
            lambda: relay.failures >= 1, timeout=30, what="the relay to find Temporal down"
        )
        assert intake.pending() == DEALS * (OPENS_PER_DEAL + 1)
        # Matching needs no Temporal: every event is on its deal, every email opened.
        await wait_until_async(
            lambda: _unsettled(intake) == 0, timeout=30, what="the events to be matched"
        )
        with Session(intake.stack.engine) as s:
            opened = [s.get(EmailLog, log.id).opened for log in logs]  # type: ignore[union-attr]
        assert opened == [True] * DEALS

    assert [r.status_code for r in answers] == [200] * (DEALS * (OPENS_PER_DEAL + 1))
    assert [r.json()["new"] for r in answers[-DEALS:]] == [1] * DEALS
    assert _by_type(intake) == {
        EmailEventType.open.value: DEALS * OPENS_PER_DEAL,
        EmailEventType.reply.value: DEALS,
    }

    # Temporal is back (the live server): one relay round delivers each event once.
    relay = Relay(DealWorkflows(intake.stack.client), UnitsOfWork(intake.stack.engine))
    first = await relay.run_once()
    assert (first.delivered, first.pending, first.failed_deals, first.unreachable) == (
        DEALS * (OPENS_PER_DEAL + 1),
        0,
        [],
        False,
    )
    assert intake.pending() == 0
    assert (await relay.run_once()).delivered == 0

    # Redelivered after a lost acknowledgement, they change nothing: the workflow drops them.
    with Session(intake.stack.engine) as s:
        s.exec(update(EmailEvent).values(delivered_at=None))  # type: ignore[call-overload]
        s.commit()
    assert (await relay.run_once()).delivered == DEALS * (OPENS_PER_DEAL + 1)

    await intake.stack.env.sleep(timedelta(minutes=5))
    for _deal_id, handle, _log in deals:
        state = await handle.query(DealWorkflow.state)
        assert (state.opens, state.replies, state.stage) == (OPENS_PER_DEAL, 1, "Responded")
