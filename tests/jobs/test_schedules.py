"""ensure_schedules against the Temporal dev server (the time-skipping server has no
schedules): the kinds with the right specs, and a second call changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment

from dealpilot.core.settings import Settings
from dealpilot.temporal.schedules import BrandClock, ensure_schedules

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(120)]


async def test_ensure_schedules_creates_then_changes_nothing(
    dev_env: WorkflowEnvironment,
) -> None:
    client = dev_env.client
    settings = Settings(_env_file=None, DEALPILOT_ENV="test", TEMPORAL_TASK_QUEUE="jobs-test")
    brands = [BrandClock("codeteki", "Australia/Sydney")]

    first = await ensure_schedules(client, settings, brands)
    assert first == {
        "inbox-poll": "created",
        "scheduled-drafts": "created",
        "link-check": "created",
        "daily-review-codeteki": "created",
        "engagement-scan-codeteki": "created",
    }

    poll = (await client.get_schedule_handle("inbox-poll").describe()).schedule
    assert [i.every for i in poll.spec.intervals] == [timedelta(minutes=5)]
    assert poll.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert isinstance(poll.action, ScheduleActionStartWorkflow)
    assert (poll.action.workflow, poll.action.task_queue) == ("InboxPollWorkflow", "jobs-test")

    drafts = (await client.get_schedule_handle("scheduled-drafts").describe()).schedule
    assert [i.every for i in drafts.spec.intervals] == [timedelta(minutes=1)]
    assert drafts.policy.overlap == ScheduleOverlapPolicy.SKIP

    links = (await client.get_schedule_handle("link-check").describe()).schedule
    assert [i.every for i in links.spec.intervals] == [timedelta(days=1)]
    assert isinstance(links.action, ScheduleActionStartWorkflow)
    assert links.action.workflow == "LinkCheckWorkflow"

    review = (await client.get_schedule_handle("daily-review-codeteki").describe()).schedule
    assert review.spec.time_zone_name == "Australia/Sydney"
    (calendar,) = review.spec.calendars
    assert [(r.start, r.end or r.start) for r in calendar.hour] == [(9, 9)]
    assert [(r.start, r.end or r.start) for r in calendar.minute] == [(0, 0)]
    assert [(r.start, r.end) for r in calendar.day_of_week] == [(1, 5)]  # Mon-Fri
    assert review.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert isinstance(review.action, ScheduleActionStartWorkflow)
    assert review.action.workflow == "DailyReviewWorkflow"

    scan = (await client.get_schedule_handle("engagement-scan-codeteki").describe()).schedule
    assert scan.spec.time_zone_name == "Australia/Sydney"
    (calendar,) = scan.spec.calendars
    assert [(r.start, r.end or r.start) for r in calendar.hour] == [(8, 8)]
    assert [(r.start, r.end or r.start) for r in calendar.minute] == [(30, 30)]
    assert [(r.start, r.end) for r in calendar.day_of_week] == [(1, 5)]  # Mon-Fri
    assert isinstance(scan.action, ScheduleActionStartWorkflow)
    assert (scan.action.workflow, scan.action.task_queue) == ("EngagementScanWorkflow", "jobs-test")
    assert scan.policy.overlap == ScheduleOverlapPolicy.SKIP

    second = await ensure_schedules(client, settings, brands)
    assert set(second.values()) == {"unchanged"}

    # A changed setting updates the schedule in place.
    faster = settings.model_copy(update={"inbox_poll_every": timedelta(minutes=2)})
    third = await ensure_schedules(client, faster, brands)
    assert third["inbox-poll"] == "updated"
    poll = (await client.get_schedule_handle("inbox-poll").describe()).schedule
    assert [i.every for i in poll.spec.intervals] == [timedelta(minutes=2)]
