from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dealpilot.ai import HeuristicEngine
from dealpilot.core.settings import Settings
from dealpilot.setup.seed import seed
from dealpilot.temporal import search_attributes
from dealpilot.temporal.converter import data_converter
from dealpilot.temporal.deals import DealStart, DealWorkflows
from models import Brand, session_scope
from tests.smtp import Inbox, smtp_server
from tests.temporal import TEST_SERVER
from tests.workflows.helpers import create_deal, open_window, stack_settings
from worker import build_worker


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of the test's own (it starts in about 0.1 s). Shared by a
    worker's whole session, anything one test left behind held later tests' time still: a
    workflow waking on a queue nobody polls any more stops the server skipping, and a later
    test's `env.sleep` then ends in "Timeout expired" (test_tracking's four tests, in CI, only
    after certain other tests). Its clock also starts at the wall clock for each test."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter
    )
    await search_attributes.register(env.client)
    yield env
    await env.shutdown()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@dataclass
class Stack:
    env: WorkflowEnvironment
    engine: Engine
    settings: Settings
    inbox: Inbox
    task_queue: str
    worker: Worker
    worker_ai: HeuristicEngine

    @property
    def client(self) -> Client:
        return self.env.client

    def brand(self, slug: str) -> Brand:
        with Session(self.engine) as s:
            return s.exec(select(Brand).where(Brand.slug == slug)).one()

    def open_window(self, slug: str, **changes: object) -> None:
        open_window(self.engine, slug, **changes)

    async def enrol(
        self, email: str, *, brand: str, pipeline: str, name: str = "", timezone: str | None = None
    ) -> tuple[int, WorkflowHandle[object, object]]:
        start = self.create_deal(
            email, brand=brand, pipeline=pipeline, name=name, timezone=timezone
        )
        handle = await DealWorkflows(self.client, self.task_queue).start(start)
        return start.deal_id, handle  # type: ignore[return-value]

    def create_deal(
        self, email: str, *, brand: str, pipeline: str, name: str = "", timezone: str | None = None
    ) -> DealStart:
        return create_deal(
            self.engine, email, brand=brand, pipeline=pipeline, name=name, timezone=timezone
        )


@pytest.fixture
async def stack(
    time_env: WorkflowEnvironment, engine: Engine, smtp: tuple[Inbox, int], tmp_path: Path
) -> AsyncIterator[Stack]:
    inbox, port = smtp
    settings = stack_settings(tmp_path, port)
    with session_scope(engine) as s:
        seed(s)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    ai = HeuristicEngine()
    worker = build_worker(
        time_env.client, settings=settings, engine=engine, ai=ai, task_queue=queue
    )
    async with worker:
        yield Stack(time_env, engine, settings, inbox, queue, worker, ai)
