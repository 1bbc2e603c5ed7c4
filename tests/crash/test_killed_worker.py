"""A worker killed with SIGKILL in the middle of a send: the email is never sent twice.

Runs on the Temporal dev server (real time): the killed worker stops heartbeating, the send
activity times out after its heartbeat timeout, a new worker retries it, finds the ledger row
still `sending` and leaves it to its claim until the claim's lease ends; then, with no Sent
folder to look in, it flags the row `unknown` for a person and sends nothing; the deal pauses
for review. (With a Sent folder it is resolved instead: tests/crash/test_crash_storm.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from dealpilot.ai import HeuristicEngine
from dealpilot.core.settings import Settings
from dealpilot.setup.seed import seed
from dealpilot.temporal.deals import DealWorkflows
from models import (
    EmailLog,
    EmailStatus,
    session_scope,
)
from tests.smtp import smtp_server
from tests.waiting import wait_until_async
from tests.workflows.helpers import create_deal, open_window
from worker import build_worker
from workflows.deal import DealWorkflow

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(180)]
EMAIL = "once@example.com.au"


def _ledger(engine: Engine, deal_id: int) -> list[EmailLog]:
    with Session(engine) as s:
        return list(s.exec(select(EmailLog).where(EmailLog.deal_id == deal_id)).all())


async def test_worker_killed_mid_send_never_sends_twice(
    dev_env: WorkflowEnvironment, engine: Engine
) -> None:
    client = dev_env.client
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    with session_scope(engine) as s:
        seed(s)
    open_window(engine, "codeteki")
    start = create_deal(engine, EMAIL, brand="codeteki", pipeline="sales", name="Olive Once")
    db_url = engine.url.render_as_string(hide_password=False)
    target = client.service_client.config.target_host
    with smtp_server(delay_seconds=600) as (inbox, port):  # DATA never completes in time
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.crash.worker_proc", target, queue, db_url, str(port)],
            stdout=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == b"worker ready"
            handle = await DealWorkflows(client, queue).start(start)

            def in_flight() -> bool:
                rows = _ledger(engine, start.deal_id)
                return (
                    bool(rows)
                    and rows[0].status == EmailStatus.sending
                    and inbox.data_commands == 1
                )

            await wait_until_async(in_flight, timeout=90, what="the send to reach SMTP DATA")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

        settings = Settings(
            DEALPILOT_ENV="test",
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=port,
            SMTP_SECURITY="none",
            TRACKING_SECRET="test-tracking-secret",
        )
        replacement = build_worker(
            client, settings=settings, engine=engine, ai=HeuristicEngine(), task_queue=queue
        )
        async with replacement:

            async def paused() -> bool:
                return (await handle.query(DealWorkflow.state)).status == "paused"

            await wait_until_async(
                paused, timeout=90, interval=0.5, what="the deal to pause for review"
            )
            state = await handle.query(DealWorkflow.state)
            await handle.terminate("test finished")

    rows = _ledger(engine, start.deal_id)
    assert len(rows) == 1
    assert rows[0].status == EmailStatus.unknown
    assert inbox.data_commands == 1  # the replacement worker never tried again
    assert inbox.messages == []  # the killed send never completed either
    assert "review" in state.next_action_reason
