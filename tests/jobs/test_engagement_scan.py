"""The daily engagement scan on the time-skipping server: a deal whose tier went stale while it
slept gets its tier refreshed (row, search attribute, the workflow's state), and its follow-up
moves only because the new tier changes the cadence."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from models import Deal, PipelineStage
from tests.waiting import wait_until_async
from tests.workflows.conftest import Stack
from workflows import search_attributes as sa
from workflows.deal import DealWorkflow
from workflows.engagement_scan import (
    EngagementScanInput,
    EngagementScanReport,
    EngagementScanWorkflow,
)

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(180)]
HOUR = timedelta(hours=1)


async def _scan(stack: Stack) -> EngagementScanReport:
    report: EngagementScanReport = await stack.client.execute_workflow(
        EngagementScanWorkflow.run,
        EngagementScanInput(brand="codeteki"),
        id=f"engagement-scan-{uuid.uuid4().hex[:6]}",
        task_queue=stack.task_queue,
        result_type=EngagementScanReport,
    )
    return report


async def test_the_scan_refreshes_a_stale_tier_and_replans_by_cadence(stack: Stack) -> None:
    stack.open_window("codeteki")
    email = "noor@harbour-dental.com.au"
    deal_id, handle = await stack.enrol(email, brand="codeteki", pipeline="sales")
    for _ in range(10):  # the intro, then Follow-up 1: two emails, no opens
        await stack.env.sleep(timedelta(days=1))
        if len(stack.inbox.to(email)) == 2:
            break
    before = await handle.query(DealWorkflow.state)
    assert (before.stage, before.tier) == ("Follow-up 1", "new")  # tier read before the send
    with Session(stack.engine) as s:
        stage = s.get(PipelineStage, before.stage_id)
        assert stage is not None
        assert stage.days_until_followup
        wait = timedelta(days=stage.days_until_followup)
    assert before.next_action_at == before.stage_entered_at + wait

    report = await _scan(stack)
    assert (report.scanned, report.changed, report.signalled) == (1, 1, 1)
    after = await handle.query(DealWorkflow.state)
    assert after.tier == "cold"  # two emails, no opens
    assert after.next_action_at == after.stage_entered_at + wait * 1.5  # cold: longer waits
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(sa.ENGAGEMENT_TIER) == "cold"

    def row() -> tuple[str, datetime | None]:
        with Session(stack.engine) as s:
            deal = s.get(Deal, deal_id)
            assert deal is not None
            return str(deal.engagement_tier), deal.next_action_at

    # The tier is written by the scan; the replanned time by the deal's own save, just after.
    await wait_until_async(
        lambda: row() == ("cold", after.next_action_at), timeout=30, what="the deal's row"
    )

    again = await _scan(stack)  # nothing changed: no signal, the timer stays as it is
    assert (again.changed, again.signalled) == (0, 0)
    assert (await handle.query(DealWorkflow.state)).next_action_at == after.next_action_at
    # The old follow-up time passes without a send: the deal sleeps on to its new time.
    assert before.next_action_at is not None
    await stack.env.sleep(before.next_action_at - await stack.env.get_current_time() + HOUR)
    assert len(stack.inbox.to(email)) == 2
