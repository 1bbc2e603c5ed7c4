"""Unsubscribe race (issue 10): one-click unsubscribes arriving while 50 deals are sending.

50 deals of one brand send their first email at once on the Temporal dev server (real time),
through a real worker and a local aiosmtpd inbox. As each first email lands, the test either
POSTs the email's one-click unsubscribe link (25 deals) or nudges the deal so its follow-ups
start (the other 25), all concurrently with the first emails still going out. Each
unsubscribed deal is nudged too, right after its POST returned, so a follow-up comes due for
it at once and only the stored suppression (or the relayed unsubscribe) can stop it.

"After the POST returned" is measured on the SMTP server's own receive order (the number of
messages it had accepted when the POST answered), not on a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api import create_app
from dealpilot.ai import HeuristicEngine
from dealpilot.setup.seed import seed
from dealpilot.temporal.deals import DealHandle, DealWorkflows
from models import (
    Brand,
    EmailLog,
    EmailStatus,
    Pipeline,
    PipelineStage,
    StageKind,
    make_engine,
    migrate,
    session_scope,
)
from tests.smtp import Inbox, smtp_server
from tests.waiting import wait_until_async
from tests.workflows.helpers import create_deal, open_window, stack_settings
from worker import build_worker
from workflows.contracts import DealStateView
from workflows.deal import DealWorkflow

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(300)]

DEALS = 50
UNSUBSCRIBERS = 25
BRAND, PIPELINE = "codeteki", "sales"
FOLLOW_UPS = ("Follow-up 1", "Follow-up 2")  # due at once after the nudged Intro Sent
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def race_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh file SQLite database (the dev default), or the empty test PostgreSQL."""
    if request.param == "postgres":
        yield request.getfixturevalue("engine")
        return
    url = f"sqlite:///{tmp_path / 'race.db'}"
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _prepare(engine: Engine) -> None:
    """Seeded brand, window always open, no cap in the way; the follow-ups after Intro Sent
    come due at once, so a nudged deal sends its whole sequence and closes lost."""
    with session_scope(engine) as s:
        seed(s)
    open_window(engine, BRAND, daily_cap=10 * DEALS)
    with session_scope(engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == BRAND)).one()
        pipeline = s.exec(
            select(Pipeline).where(Pipeline.brand_id == brand.id, Pipeline.slug == PIPELINE)
        ).one()
        stages = s.exec(
            select(PipelineStage).where(
                PipelineStage.pipeline_id == pipeline.id, col(PipelineStage.name).in_(FOLLOW_UPS)
            )
        ).all()
        assert len(stages) == len(FOLLOW_UPS)
        for stage in stages:
            assert stage.kind == StageKind.sequence
            stage.days_until_followup = 0
            s.add(stage)


def _to(message: EmailMessage) -> str:
    return parseaddr(str(message["To"]))[1].lower()


@dataclass
class Post:
    status: int
    answered_at: int  # how many messages the SMTP server had accepted when the POST answered


async def test_unsubscribes_mid_send_are_never_lost_nor_late(
    dev_env: WorkflowEnvironment, race_engine: Engine, tmp_path: Path
) -> None:
    engine = race_engine
    client: Client = dev_env.client
    _prepare(engine)
    queue = f"race-{uuid.uuid4().hex[:8]}"
    emails = [f"race{i:02d}@example.com.au" for i in range(DEALS)]
    unsubscribers = set(emails[::2][:UNSUBSCRIBERS])
    starts = [create_deal(engine, e, brand=BRAND, pipeline=PIPELINE) for e in emails]

    with smtp_server() as (inbox, port):
        settings = stack_settings(tmp_path, port, TEMPORAL_TASK_QUEUE=queue)
        worker = build_worker(
            client, settings=settings, engine=engine, ai=HeuristicEngine(), task_queue=queue
        )
        app = create_app(engine=engine, api_keys={"k"}, settings=settings, temporal=client)
        transport = httpx.ASGITransport(app=app)
        handles: dict[str, DealHandle] = {}
        async with (
            worker,
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://api.test") as http,
        ):
            try:
                deals = DealWorkflows(client, queue)
                for address, start in zip(emails, starts, strict=True):
                    handles[address] = await deals.start(start)
                posts, finals = await _race(inbox, http, handles, unsubscribers)
            finally:
                for handle in handles.values():
                    with contextlib.suppress(RPCError):
                        await handle.terminate("test finished")

    assert len(posts) == UNSUBSCRIBERS
    assert {e: p.status for e, p in posts.items() if not 200 <= p.status < 300} == {}
    firsts = {_to(m) for m in inbox.messages}
    assert firsts == set(emails)  # every deal's first email went out
    received = [(i, _to(m)) for i, m in enumerate(inbox.messages)]
    late = {
        e: [i for i, to in received if to == e and i >= p.answered_at] for e, p in posts.items()
    }
    assert {e: ids for e, ids in late.items() if ids} == {}
    # The POSTs raced the sends: some answered while first emails were still arriving (on
    # this machine about 22 of 25, with the first emails done at message 63 to 75 of 100).
    firsts_done = max(min(i for i, to in received if to == e) for e in emails) + 1
    assert sum(p.answered_at < firsts_done for p in posts.values()) >= 1
    assert {e: len(inbox.to(e)) for e in unsubscribers} == dict.fromkeys(unsubscribers, 1)
    others = set(emails) - unsubscribers
    assert {e: len(inbox.to(e)) for e in others} == dict.fromkeys(others, 1 + len(FOLLOW_UPS))
    # Closed by the relayed unsubscribe, or by the autopilot's guard when the nudge got there
    # first (its reason then says the contact is suppressed as unsubscribed).
    closed = {e: (s.status, "unsubscribed" in s.lost_reason) for e, s in finals.items()}
    assert {e: closed[e] for e in unsubscribers} == dict.fromkeys(unsubscribers, ("lost", True))
    assert {closed[e] for e in others} == {("lost", False)}
    with Session(engine) as s:
        ledger = s.exec(select(EmailLog.to_email, EmailLog.status)).all()
    sent = [e for e, status in ledger if status == EmailStatus.sent]
    assert len(sent) == len(inbox.messages)  # the ledger agrees with the SMTP server
    assert [row for row in ledger if row[1] in (EmailStatus.unknown, EmailStatus.sending)] == []


async def _race(
    inbox: Inbox,
    http: httpx.AsyncClient,
    handles: dict[str, DealHandle],
    unsubscribers: set[str],
) -> tuple[dict[str, Post], dict[str, DealStateView]]:
    """Reacts to each first email as it lands: unsubscribe (then nudge) or nudge; then waits
    for every deal to finish. Returns the POSTs and each deal's final state."""
    posts: dict[str, Post] = {}
    tasks: list[asyncio.Task[None]] = []
    seen: set[str] = set()

    async def unsubscribe(address: str, url: str) -> None:
        r = await http.post(urlsplit(url).path, data=ONE_CLICK)
        posts[address] = Post(r.status_code, len(inbox.messages))
        await handles[address].signal(DealWorkflow.nudge)  # its follow-up is due right now

    async def nudge(address: str) -> None:
        await handles[address].signal(DealWorkflow.nudge)

    def react() -> bool:
        for message in list(inbox.messages):
            address = _to(message)
            if address in seen:
                continue
            seen.add(address)
            if address in unsubscribers:
                url = str(message["List-Unsubscribe"]).strip("<>")
                tasks.append(asyncio.create_task(unsubscribe(address, url)))
            else:
                tasks.append(asyncio.create_task(nudge(address)))
        return len(seen) == len(handles)

    await wait_until_async(react, timeout=180, interval=0.02, what="every deal's first email")
    await asyncio.gather(*tasks)
    results = await asyncio.wait_for(
        asyncio.gather(*(h.result() for h in handles.values())), timeout=180
    )
    return posts, dict(zip(handles, results, strict=True))
