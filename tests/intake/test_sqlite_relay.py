"""On SQLite (the embedded default) the relay holds no write lock while Temporal answers: a
second connection can take the write lock during every signal, so an unsubscribe or a send is
never kept waiting behind the relay's round trips. (SQLite locks the whole database for a write;
holding it across signals made other writers wait past their busy timeout.)"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine
from temporalio.client import Client, Interceptor, OutboundInterceptor, SignalWorkflowInput

from dealpilot.intake import Relay, deliver
from dealpilot.temporal.deals import DealWorkflows
from dealpilot.tracking.tracker import Tracker
from models.uow import UnitsOfWork
from tests.conftest import _wipe
from tests.intake.conftest import Intake, client_for, intake_app
from tests.waiting import wait_until_async
from workflows.deal import DealWorkflow

OPENS = 5
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0"


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """This module's stack, app and worker run on SQLite instead of PostgreSQL."""
    _wipe(sqlite_engine)
    return sqlite_engine


class _WriterDuringSignals(Interceptor):
    """Before each signal goes out, another connection tries to take SQLite's write lock and
    notes whether it could. It waits up to 2 s: the deal's own activities take the lock for
    moments too, but a relay that held it across its signals would hold it until this probe
    gave up (the relay is waiting on the probe's signal)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.took_lock: list[bool] = []

    def try_write(self) -> None:
        other = sqlite3.connect(self.path, timeout=2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            self.took_lock.append(True)
        except sqlite3.OperationalError:
            self.took_lock.append(False)
        finally:
            other.close()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        owner = self

        class Outbound(OutboundInterceptor):
            async def signal_workflow(self, input: SignalWorkflowInput) -> None:
                await asyncio.to_thread(owner.try_write)
                await super().signal_workflow(input)

        return Outbound(next)


async def test_the_relay_leaves_the_write_lock_free_while_it_signals(
    intake: Intake, engine: Engine
) -> None:
    deal_id, handle, log = await intake.first_email("sam@leeplumbing.com.au")
    assert log.id is not None
    # Stored without Temporal (no relay), so the events wait for the delivery under test.
    tracker = Tracker("https://crm.example.test", "test-tracking-secret")
    app = intake_app(intake.stack, temporal=None)
    async with client_for(app) as http:
        for n in range(OPENS):
            path = urlsplit(tracker.open_url(log.id)).path
            answer = await http.get(path, headers={"User-Agent": f"{BROWSER} reader/{n}"})
            assert answer.status_code == 200
    assert intake.pending() == OPENS
    # Received, not matched yet: a relay settles them before it delivers (here, one without
    # Temporal), so that the delivery under test finds them on the deal.
    assert await Relay(None, UnitsOfWork(engine)).settle_all() == {deal_id}

    assert engine.url.database is not None
    writer = _WriterDuringSignals(Path(engine.url.database))
    client = Client(**{**intake.stack.client.config(), "interceptors": [writer]})
    report = await deliver(DealWorkflows(client), UnitsOfWork(engine), deal_ids=[deal_id])

    assert (report.delivered, report.pending, report.unreachable) == (OPENS, 0, False)
    assert writer.took_lock == [True] * OPENS

    async def all_opens_counted() -> bool:
        return (await handle.query(DealWorkflow.state)).opens == OPENS

    await wait_until_async(all_opens_counted, timeout=30, what="the deal to count every open")
