"""The data converter's type adapters are built once per process, not once per workflow
instance: the worker makes a new payload converter for every instance it creates."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from dealpilot.temporal import converter
from dealpilot.temporal.converter import PayloadConverter, data_converter, type_adapter
from tests.workflows.histories import HISTORIES
from worker import WORKFLOW_RUNNER, WORKFLOWS
from workflows.contracts import Engagement
from workflows.deal_memory import DealInput
from workflows.rules import EngagementStats


async def _replay(name: str) -> None:
    path = HISTORIES / f"{name}.json"
    history = WorkflowHistory.from_json(name, path.read_text())
    replayer = Replayer(
        workflows=list(WORKFLOWS), data_converter=data_converter, workflow_runner=WORKFLOW_RUNNER
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_a_second_deal_builds_no_type_adapter() -> None:
    type_adapter.cache_clear()
    await _replay("local_email_sequence_steps")
    first = type_adapter.cache_info()
    assert first.misses >= 3  # DealInput, the context, the engagement, ...: built once each
    await _replay("local_email_sequence_steps")  # a new workflow instance, a new payload converter
    second = type_adapter.cache_info()
    assert second.misses == first.misses
    assert second.hits > first.hits


def test_values_round_trip_through_a_fresh_converter() -> None:
    stats = EngagementStats(3, 2, 1, 0, 1, last_open_at=dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC))
    engagement = Engagement(stats=stats, tier="warm")
    payload = PayloadConverter().to_payloads([engagement])[0]
    assert PayloadConverter().from_payloads([payload], [Engagement]) == [engagement]
    inp = DealInput(deal_id=7)
    payload = PayloadConverter().to_payloads([inp])[0]
    assert PayloadConverter().from_payloads([payload], [DealInput]) == [inp]


def test_an_unhashable_type_hint_still_converts() -> None:
    hint = Annotated[dt.date, {"unhashable": []}]
    before = converter.type_adapter.cache_info().currsize
    payload = PayloadConverter().to_payloads([dt.date(2026, 11, 30)])[0]
    assert PayloadConverter().from_payloads([payload], [hint]) == [dt.date(2026, 11, 30)]
    assert converter.type_adapter.cache_info().currsize == before
