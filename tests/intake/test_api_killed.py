"""The API killed (SIGKILL) in the middle of a stream of opens, clicks and signed reply webhooks:
every request it answered 2xx is stored, matched and delivered to its deal exactly once
afterwards (issue 15, item 2).

Those three endpoints answer once their event is committed (one insert-if-new, shared with the
requests in flight) and leave the matching and the delivery to the relay: what the killed
process answered is in the database, whatever it had not matched or delivered yet. Delivery is
proven on the deals' real workflows: each counts every open, click and reply it heard once."""

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
from models import EmailEvent, EmailEventType, EmailLog
from models.uow import UnitsOfWork
from tests.intake.conftest import Intake
from tests.intake.test_replies import _generic
from tests.waiting import wait_until_async
from workflows.deal import DealWorkflow

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(300)]
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0"
REQUESTS = 240  # opens, clicks and replies in turn, over two deals
KILL_AFTER = 60  # answered requests before the kill
IN_FLIGHT = 8
KINDS = (EmailEventType.open, EmailEventType.click, EmailEventType.reply)


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


def _request(n: int, log: EmailLog, tracker: Tracker) -> tuple[str, str, dict[str, str], bytes]:
    """(method, path, headers, body) of request `n`; its event is found again by `_key`."""
    kind = KINDS[n % 3]
    agent = f"{BROWSER} reader/{n}"
    if kind == EmailEventType.open:
        return "GET", urlsplit(tracker.open_url(log.id or 0)).path, {"User-Agent": agent}, b""
    if kind == EmailEventType.click:
        url = tracker.click_url(log.id or 0, f"https://codeteki.au/offer?n={n}")
        return "GET", urlsplit(url).path, {"User-Agent": agent}, b""
    body, headers = _generic(log, message_id=f"<killed-{n}@example.com>")
    return "POST", "/api/crm/webhooks/reply", headers, body


def _key(event: EmailEvent) -> int:
    """The request number an event was stored from."""
    if event.event_type == EmailEventType.reply:
        return int(event.dedupe_key.removeprefix("<killed-").split("@")[0])
    return int(str(event.payload["raw"]["user_agent"]).rsplit("/", 1)[1])


async def test_every_event_answered_before_a_kill_is_delivered_once(intake: Intake) -> None:
    deals = [await intake.first_email(f"killed{i}@leeplumbing.com.au") for i in range(2)]
    tracker = Tracker("https://crm.example.test", "test-tracking-secret")
    db_url = intake.stack.engine.url.render_as_string(hide_password=False)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "tests.intake.api_proc", db_url, str(port)])
    accepted: list[int] = []  # the requests answered 2xx (302 for a click)
    try:
        await wait_until_async(lambda: _answers(base), timeout=120, what="the API to start")
        gate = asyncio.Semaphore(IN_FLIGHT)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:

            async def hit(n: int) -> None:
                method, path, headers, body = _request(n, deals[n % 2][2], tracker)
                async with gate:
                    try:
                        r = await http.request(method, path, headers=headers, content=body)
                    except httpx.TransportError:
                        return  # the API is gone: not answered, not accepted
                assert r.status_code in (200, 302), r.text
                accepted.append(n)
                if len(accepted) == KILL_AFTER:
                    os.kill(proc.pid, signal.SIGKILL)

            await asyncio.gather(*(hit(n) for n in range(REQUESTS)))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert KILL_AFTER <= len(accepted) < REQUESTS  # killed mid-load, with requests in flight
    assert {KINDS[n % 3] for n in accepted} == set(KINDS)

    # Another process's relay (Temporal up): settles what the dead one received, delivers it.
    relay = Relay(DealWorkflows(intake.stack.client), UnitsOfWork(intake.stack.engine))
    report = await relay.run_once()
    assert (report.pending, report.failed_deals, report.unreachable) == (0, [], False)
    assert (await relay.run_once()).delivered == 0

    with Session(intake.stack.engine) as s:
        stored = {_key(row): row for row in s.exec(select(EmailEvent))}
    assert set(accepted) <= set(stored)
    deal_of = {log.id: deal_id for deal_id, _handle, log in deals}
    for n in accepted:
        row = stored[n]
        assert row.event_type == KINDS[n % 3], n
        assert (row.settled, row.delivered_at is not None) == (True, True), n
        assert row.deal_id == deal_of[deals[n % 2][2].id], n

    # Each deal heard each stored event once: the accepted ones, and any the API committed but
    # died before answering.
    await intake.stack.env.sleep(timedelta(minutes=5))
    for deal_id, handle, _log in deals:
        state = await handle.query(DealWorkflow.state)
        mine = [row for row in stored.values() if row.deal_id == deal_id]
        heard = (state.opens, state.clicks, state.replies)
        assert heard == tuple(sum(1 for r in mine if r.event_type == k) for k in KINDS)
