"""The API killed (SIGKILL) in the middle of a stream of opens: every open it answered 2xx is
stored, matched and delivered to its deal exactly once afterwards (issue 15, item 2).

The pixel answers once its event is committed (one insert, shared with the requests in flight)
and leaves the matching and the delivery to the relay: what the killed process answered is in
the database, whatever it had not matched or delivered yet."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import Session, select

from dealpilot.intake import Relay
from dealpilot.temporal.deals import DealWorkflows
from dealpilot.tracking.tracker import Tracker
from models import EmailEvent, EmailEventType
from models.uow import UnitsOfWork
from tests.intake.conftest import Intake
from tests.waiting import wait_until_async
from workflows.deal import DealWorkflow

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(300)]
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0"
OPENS = 300
KILL_AFTER = 60  # answered opens before the kill
IN_FLIGHT = 8


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _answers(base: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as http:
            return (await http.get("/healthz")).status_code == 200
    except httpx.TransportError:
        return False


async def test_every_open_answered_before_a_kill_is_delivered_once(intake: Intake) -> None:
    deals = [await intake.first_email(f"killed{i}@leeplumbing.com.au") for i in range(2)]
    tracker = Tracker("https://crm.example.test", "test-tracking-secret")
    paths = [urlsplit(tracker.open_url(log.id or 0)).path for _deal, _handle, log in deals]
    db_url = intake.stack.engine.url.render_as_string(hide_password=False)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "tests.intake.api_proc", db_url, str(port)])
    accepted: list[str] = []  # the User-Agent of each open answered 2xx (unique per open)
    try:
        await wait_until_async(lambda: _answers(base), timeout=120, what="the API to start")
        gate = asyncio.Semaphore(IN_FLIGHT)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:

            async def hit(n: int) -> None:
                agent = f"{BROWSER} reader/{n}"
                async with gate:
                    try:
                        r = await http.get(paths[n % 2], headers={"User-Agent": agent})
                    except httpx.TransportError:
                        return  # the API is gone: not answered, not accepted
                if r.status_code == 200:
                    accepted.append(agent)
                    if len(accepted) == KILL_AFTER:
                        os.kill(proc.pid, signal.SIGKILL)

            await asyncio.gather(*(hit(n) for n in range(OPENS)))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert KILL_AFTER <= len(accepted) < OPENS  # killed mid-load, with requests in flight

    # Another process's relay (Temporal up): settles what the dead one received, delivers it.
    relay = Relay(DealWorkflows(intake.stack.client), UnitsOfWork(intake.stack.engine))
    report = await relay.run_once()
    assert (report.pending, report.failed_deals, report.unreachable) == (0, [], False)
    assert (await relay.run_once()).delivered == 0

    with Session(intake.stack.engine) as s:
        rows = s.exec(select(EmailEvent).where(EmailEvent.event_type == EmailEventType.open))
        stored = {str(row.payload["raw"]["user_agent"]): row for row in rows}
    assert set(accepted) <= set(stored)
    deal_ids = {deal_id for deal_id, _handle, _log in deals}
    for agent in accepted:
        row = stored[agent]
        assert (row.settled, row.deal_id in deal_ids, row.delivered_at is not None) == (
            True,
            True,
            True,
        ), agent

    # Each deal heard each stored open once: the accepted ones, and any the API committed but
    # died before answering.
    await intake.stack.env.sleep(timedelta(minutes=5))
    for deal_id, handle, _log in deals:
        state = await handle.query(DealWorkflow.state)
        assert state.opens == sum(1 for row in stored.values() if row.deal_id == deal_id)
