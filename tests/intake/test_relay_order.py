"""The relay signals deals side by side, but each deal's events in the order they were stored,
each once: 12 deals with 5 stored opens each, delivered in one round to workflows (on the
Temporal test server) that record the event ids their `email_opened` signal receives. On
SQLite and on PostgreSQL (where the claimed rows stay locked while they are signalled)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dealpilot.intake import deliver
from dealpilot.intake.delivery import SIGNALS_AT_ONCE
from dealpilot.temporal.deals import DealWorkflows
from models import EmailEvent, EmailEventType, session_scope
from models.uow import UnitsOfWork
from tests.factories import make_brand, make_contact, make_deal, make_pipeline
from tests.workflows.conftest import time_env  # noqa: F401 (fixture)
from workflows.contracts import EngagementEvent

pytestmark = pytest.mark.timeout(120)
DEALS, EVENTS = 12, 5


@workflow.defn(name="RelayRecorder", sandboxed=False)
class Recorder:
    """Stands where a deal's workflow stands: the signal the relay sends, kept in order."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal(name="email_opened")
    def email_opened(self, event: EngagementEvent) -> None:
        assert event.event_id is not None
        self.seen.append(event.event_id)

    @workflow.query
    def events(self) -> list[int]:
        return self.seen


def _store(engine: Engine) -> dict[int, list[int]]:
    """Each deal's opens, stored interleaved across the deals; their ids by deal."""
    with session_scope(engine) as s:
        brand = make_brand(s)
        pipeline = make_pipeline(s, brand=brand)
        deals = [
            make_deal(s, contact=make_contact(s, brand=brand), pipeline=pipeline)
            for _ in range(DEALS)
        ]
        for deal in deals:
            deal.workflow_id = f"deal-{deal.id}"
            s.add(deal)
        for n in range(EVENTS):
            for deal in deals:
                s.add(
                    EmailEvent(
                        deal_id=deal.id,
                        brand_id=brand.id,
                        event_type=EmailEventType.open,
                        source="pixel",
                        dedupe_key=f"open-{deal.id}-{n}",
                    )
                )
    with Session(engine) as s:
        rows = s.exec(select(EmailEvent).order_by(col(EmailEvent.id))).all()
        by_deal: dict[int, list[int]] = {}
        for row in rows:
            assert row.deal_id is not None
            assert row.id is not None
            by_deal.setdefault(row.deal_id, []).append(row.id)
        return by_deal


async def test_each_deal_gets_its_events_once_and_in_order(
    time_env: WorkflowEnvironment,  # noqa: F811
    any_engine: Engine,
) -> None:
    assert DEALS > SIGNALS_AT_ONCE / 2  # enough deals for several to be signalled at once
    by_deal = _store(any_engine)
    client = time_env.client
    queue = f"relay-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[Recorder]):
        for deal_id in by_deal:
            await client.start_workflow(Recorder.run, id=f"deal-{deal_id}", task_queue=queue)

        report = await deliver(DealWorkflows(client), UnitsOfWork(any_engine))

        received = {
            deal_id: await client.get_workflow_handle(f"deal-{deal_id}").query(Recorder.events)
            for deal_id in by_deal
        }
        for deal_id in by_deal:
            await client.get_workflow_handle(f"deal-{deal_id}").terminate()

    assert (report.delivered, report.pending, report.unreachable) == (DEALS * EVENTS, 0, False)
    assert received == by_deal
    with Session(any_engine) as s:
        undelivered = s.exec(select(EmailEvent).where(col(EmailEvent.delivered_at).is_(None)))
        assert undelivered.all() == []
