from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.ai import HeuristicEngine
from dealpilot.enrolment import DealStart, start_deal
from dealpilot.settings import Settings
from models import Brand, Contact, Deal, Pipeline, PipelineStage, session_scope
from models.seed import seed
from tests.smtp import Inbox, smtp_server
from tests.temporal import TEST_SERVER
from worker import build_worker
from workflows import search_attributes


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
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
    started: list[WorkflowHandle[object, object]] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.env.client

    def brand(self, slug: str) -> Brand:
        with Session(self.engine) as s:
            return s.exec(select(Brand).where(Brand.slug == slug)).one()

    def open_window(self, slug: str, **changes: object) -> None:
        """Sends through the test SMTP server, always inside the window unless told otherwise."""
        with session_scope(self.engine) as s:
            brand = s.exec(select(Brand).where(Brand.slug == slug)).one()
            brand.provider = "smtp"  # type: ignore[assignment]
            brand.send_days = [0, 1, 2, 3, 4, 5, 6]
            brand.send_window_start = time(0, 0)
            brand.send_window_end = time(23, 59, 59)
            brand.min_gap_seconds = 0
            for name, value in changes.items():
                setattr(brand, name, value)
            s.add(brand)

    async def enrol(
        self, email: str, *, brand: str, pipeline: str, name: str = "", timezone: str | None = None
    ) -> tuple[int, WorkflowHandle[object, object]]:
        start = self.create_deal(
            email, brand=brand, pipeline=pipeline, name=name, timezone=timezone
        )
        handle = await start_deal(self.client, self.task_queue, start)
        self.started.append(handle)  # type: ignore[arg-type]
        return start.deal_id, handle  # type: ignore[return-value]

    def create_deal(
        self, email: str, *, brand: str, pipeline: str, name: str = "", timezone: str | None = None
    ) -> DealStart:
        """The deal's rows, as the API commits them before starting the workflow."""
        with session_scope(self.engine) as s:
            b = s.exec(select(Brand).where(Brand.slug == brand)).one()
            p = s.exec(
                select(Pipeline).where(Pipeline.brand_id == b.id, Pipeline.slug == pipeline)
            ).one()
            first = s.exec(
                select(PipelineStage)
                .where(PipelineStage.pipeline_id == p.id)
                .order_by(PipelineStage.order)  # type: ignore[arg-type]
            ).first()
            assert first is not None
            assert b.id is not None
            contact = Contact(brand_id=b.id, email=email, name=name, timezone=timezone)
            s.add(contact)
            s.flush()
            deal = Deal(contact_id=contact.id or 0, pipeline_id=p.id or 0, stage_id=first.id or 0)
            s.add(deal)
            s.flush()
            deal_id = deal.id or 0
            return DealStart(deal_id, b.slug, p.name, first.name, email, name)


@pytest.fixture
async def stack(
    time_env: WorkflowEnvironment, engine: Engine, smtp: tuple[Inbox, int], tmp_path: Path
) -> AsyncIterator[Stack]:
    inbox, port = smtp
    settings = Settings(
        DEALPILOT_ENV="test",
        DEALPILOT_DATA_DIR=tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_SECURITY="none",
        TRACKING_SECRET="test-tracking-secret",
        PUBLIC_BASE_URL="https://crm.example.test",
    )
    with session_scope(engine) as s:
        seed(s)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    ai = HeuristicEngine()
    worker = build_worker(
        time_env.client, settings=settings, engine=engine, ai=ai, task_queue=queue
    )
    async with worker:
        stack = Stack(time_env, engine, settings, inbox, queue, worker, ai)
        yield stack
        # Deal ids restart with each test's empty database: no workflow may outlive its test.
        for handle in stack.started:
            with contextlib.suppress(RPCError):
                await handle.terminate("test finished")
