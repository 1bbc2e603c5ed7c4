from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowHandle,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dealpilot.ai import HeuristicEngine
from dealpilot.core.settings import Settings
from dealpilot.setup.seed import seed
from dealpilot.temporal import search_attributes
from dealpilot.temporal.converter import data_converter
from dealpilot.temporal.deals import DealStart, DealWorkflows, workflow_id
from models import Brand, Deal, session_scope
from tests.smtp import Inbox, smtp_server
from tests.temporal import TEST_SERVER
from tests.workflows.helpers import create_deal, open_window, stack_settings
from worker import build_worker


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
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


class StartedWorkflows(Interceptor):
    """Records the id of every workflow started through a client: a test's deals, and any other
    workflow its API or console starts (scans, jobs), so its teardown can end them all."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        recorder = self

        class Recording(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
                handle = await super().start_workflow(input)
                recorder.ids.append(input.id)
                return handle

        return Recording(next)


@dataclass
class Stack:
    env: WorkflowEnvironment
    engine: Engine
    settings: Settings
    inbox: Inbox
    task_queue: str
    worker: Worker
    worker_ai: HeuristicEngine
    client: Client
    started: list[WorkflowHandle[object, object]] = field(default_factory=list)

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
        self.started.append(handle)  # type: ignore[arg-type]
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
    recorder = StartedWorkflows()
    config = time_env.client.config()  # keeps the environment's time-skipping interceptor
    client = Client(**{**config, "interceptors": [*config["interceptors"], recorder]})
    async with worker:
        stack = Stack(time_env, engine, settings, inbox, queue, worker, ai, client)
        yield stack
        # Deal ids restart with each test's empty database: no workflow may outlive its test.
        # Every deal's, however it was started (the helpers, the API, the console): a running
        # one left behind wakes on a queue nobody polls, and the time-skipping server then
        # stops skipping for every later test of the session ("Timeout expired").
        with Session(engine) as s:
            deal_ids = s.exec(select(Deal.id)).all()
        handles = [*stack.started, *(time_env.client.get_workflow_handle(workflow_id(d))
                                     for d in deal_ids if d is not None),
                   *(time_env.client.get_workflow_handle(i) for i in recorder.ids)]  # fmt: skip
        for handle in handles:
            with contextlib.suppress(RPCError):
                await handle.terminate("test finished")
