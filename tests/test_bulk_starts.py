"""Starting many deals' workflows: the bulk API on a Temporal dev server and PostgreSQL (every
deal started once, its id recorded, progress logged, a repeat harmless), and what a bulk start
does when Temporal goes away (it stops trying instead of waiting out every deal's timeouts)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from structlog.testing import capture_logs
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from dealpilot.core.settings import Settings
from dealpilot.temporal import search_attributes
from dealpilot.temporal.converter import data_converter
from dealpilot.temporal.deals import PROGRESS_EVERY, DealStart, DealWorkflows
from dealpilot.temporal.starting import load_start_infos
from models import Brand, Contact, Deal, Pipeline
from tests.temporal import DEV_SERVER

API_KEY = "bulk-test"
DEALS = PROGRESS_EVERY + 300


@pytest.fixture
def queue() -> str:
    """A task queue nobody polls: the workflows are started, never run."""
    return f"bulk-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def http(
    engine: Engine, dev_env: WorkflowEnvironment, queue: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(DEALPILOT_ENV="test", TEMPORAL_TASK_QUEUE=queue)
    app = create_app(engine=engine, api_keys={API_KEY}, settings=settings,
                     temporal=dev_env.client, relay_every=None)  # fmt: skip
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api.test", headers=headers) as c,
    ):
        yield c


def _contacts(engine: Engine, n: int) -> tuple[int, list[int]]:
    """(the demo brand's first pipeline, n new contacts of its brand)."""
    from dealpilot.setup.seed import seed

    with Session(engine, expire_on_commit=False) as s:
        seed(s)
        brand = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        pipeline = s.exec(select(Pipeline).where(Pipeline.brand_id == brand.id)).first()
        assert pipeline is not None
        assert pipeline.id is not None
        contacts = [
            Contact(brand_id=brand.id or 0, email=f"lead{i}@bulk.example") for i in range(n)
        ]
        s.add_all(contacts)
        s.commit()
        return pipeline.id, [c.id or 0 for c in contacts]


async def test_bulk_api_starts_every_deal_once_and_records_its_id(
    engine: Engine, dev_env: WorkflowEnvironment, queue: str, http: httpx.AsyncClient
) -> None:
    pipeline_id, contact_ids = _contacts(engine, DEALS)
    body = {"pipeline_id": pipeline_id, "contact_ids": contact_ids}
    with capture_logs() as logs:
        r = await http.post("/api/crm/deals/bulk/", json=body)
    assert r.status_code == 201, r.text
    result = r.json()
    assert (result["workflows_started"], result["workflows_not_started"]) == (DEALS, 0)
    created = {c["deal_id"]: c["workflow_id"] for c in result["created"]}
    assert all(wid == f"deal-{deal_id}" for deal_id, wid in created.items())
    with Session(engine) as s:
        stored = dict(s.exec(select(Deal.id, Deal.workflow_id)).all())
    assert stored == created
    progress = [e for e in logs if e["event"] == "workflows_starting"]
    assert [e["done"] for e in progress] == [PROGRESS_EVERY]
    assert progress[0]["total"] == DEALS
    assert progress[0]["failed"] == 0
    count = await dev_env.client.count_workflows(f"TaskQueue = '{queue}'")
    assert count.count == DEALS

    # The same contacts again: each row says why it was not enrolled, nothing starts twice.
    again = (await http.post("/api/crm/deals/bulk/", json=body)).json()
    assert again["created"] == []
    assert len(again["skipped"]) == DEALS
    assert {s["reason"] for s in again["skipped"]} == {"open_deal_exists"}
    # A start repeated (a retry after a timeout whose start did land): the same workflow.
    with Session(engine) as s:
        infos = load_start_infos(s, list(created)[:50])
    repeated = await DealWorkflows(dev_env.client, queue).start_many(infos)
    assert repeated == {i.deal_id: f"deal-{i.deal_id}" for i in infos}
    assert (await dev_env.client.count_workflows(f"TaskQueue = '{queue}'")).count == DEALS


async def test_a_bulk_start_stops_trying_once_temporal_is_down() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        search_attributes=search_attributes.ALL,
        data_converter=data_converter,
    )
    workflows = DealWorkflows(env.client, "nobody")
    infos = [
        DealStart(
            deal_id=i,
            brand="codeteki",
            pipeline="Sales",
            stage="Intro",
            contact_email=f"down{i}@bulk.example",
        )  # fmt: skip
        for i in range(1, 301)
    ]
    up = await workflows.start_many(infos[:5])
    assert all(up.values())
    await env.shutdown()

    with capture_logs() as logs:
        started = await workflows.start_many(
            infos[5:], concurrency=10, timeout=timedelta(seconds=1)
        )
    assert started == dict.fromkeys(i.deal_id for i in infos[5:])
    failed = [e for e in logs if e["event"] == "workflow_start_failed"]
    (skipped,) = [e for e in logs if e["event"] == "workflow_start_skipped"]
    # The first ten failures in a row (and the others then in flight) were tried; not the rest.
    assert 10 <= len(failed) < 20
    assert skipped["reason"] == "temporal_unreachable"
    assert skipped["deals"] == 295 - len(failed)
    assert not [e for e in logs if e["event"] == "workflows_starting"]
