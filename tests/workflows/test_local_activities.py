"""A wake's database work runs as local activities (workflows.deal_activities `_db`).

Loading the context, scoring engagement and saving the row happen inside the workflow task that
needs them, recorded as markers: only the AI call and the send go through the server's task
queue. Histories recorded before the change keep replaying (tests/workflows/histories/
activities_*.json, test_replay.py); this checks the shape of a new deal's history and that the
local path reads the workflow's clock, not the worker's (the burnout test in test_autopilot.py
depends on it under time skipping).
"""

from __future__ import annotations

import json
from collections import Counter

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from tests.workflows.conftest import Stack

LOCAL = {"load_deal_context", "engagement_profile", "sync_deal"}


async def test_a_deal_schedules_only_its_ai_calls_and_sends(stack: Stack) -> None:
    stack.open_window("desifirms")
    _deal_id, handle = await stack.enrol(
        "silent@example.com.au", brand="desifirms", pipeline="business_listings"
    )
    result = await handle.result()
    assert result.status == "lost"
    history = await handle.fetch_history()
    scheduled: Counter[str] = Counter()
    markers: Counter[str] = Counter()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.activity_task_scheduled_event_attributes.activity_type.name] += 1
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            markers[event.marker_recorded_event_attributes.marker_name] += 1
    emails = len(stack.inbox.to("silent@example.com.au"))
    assert emails == 3
    assert not LOCAL & set(scheduled), scheduled
    assert scheduled["send_stage_email"] == emails
    assert scheduled["analyze_deal"] >= emails
    # The start (context, save), the first wake (engagement, save: the context it loaded at
    # the start), and per later wake: context, engagement, save.
    assert markers["core_local_activity"] >= 4 + 3 * (emails - 1), markers
    assert markers["core_patch"] >= 2
    # The first task: the context, the enrolment's save, then the first wake's engagement
    # (its context the one just loaded) before the AI call ends the task.
    assert _first_task(history) == ["load_deal_context", "sync_deal", "engagement_profile"]


def _first_task(history: WorkflowHistory) -> list[str]:
    """The local activities of the deal's first workflow task, in order."""
    names = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED and names:
            break
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            attrs = event.marker_recorded_event_attributes
            if attrs.marker_name == "core_local_activity":
                data = json.loads(attrs.details["data"].payloads[0].data)
                names.append(data["activity_type"])
    return names
