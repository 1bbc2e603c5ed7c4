"""The Temporal Schedules that start the jobs, created or updated idempotently at startup.

| id                   | spec                                   | workflow                |
| inbox-poll           | every INBOX_POLL_EVERY (5 min)         | InboxPollWorkflow       |
| daily-review-{brand} | 09:00 Mon-Fri in the brand's time zone | DailyReviewWorkflow     |
| engagement-scan-{brand} | 08:30 Mon-Fri in the brand's time zone | EngagementScanWorkflow |
| scheduled-drafts     | every minute                           | ScheduledDraftsWorkflow |
| link-check           | every LINK_CHECK_EVERY (1 day)         | LinkCheckWorkflow       |

Overlap policy SKIP: a run still going when the next tick comes makes that tick a no-op.
A brand added later gets its schedule at the next worker start; a schedule of a brand that
was removed or deactivated stays, and its runs do nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from dealpilot.core.settings import Settings
from models import Brand
from workflows.engagement_scan import EngagementScanInput, EngagementScanWorkflow
from workflows.jobs import (
    DailyReviewInput,
    DailyReviewWorkflow,
    InboxPollWorkflow,
    JobInput,
    ScheduledDraftsWorkflow,
)
from workflows.link_checks import LinkCheckInput, LinkCheckWorkflow

INBOX_POLL = "inbox-poll"
SCHEDULED_DRAFTS = "scheduled-drafts"
LINK_CHECK = "link-check"
DAILY_REVIEW_AT = (9, 0)
ENGAGEMENT_SCAN_AT = (8, 30)  # before the day's sends and the daily review
WEEKDAYS = ScheduleRange(1, 5)  # Temporal counts days of the week from Sunday = 0


@dataclass(frozen=True)
class BrandClock:
    slug: str
    timezone: str


def active_brand_clocks(session: Session) -> list[BrandClock]:
    """The active brands, each with the time zone its daily review runs in."""
    rows = session.exec(select(Brand).where(col(Brand.is_active))).all()
    return [BrandClock(brand.slug, brand.timezone) for brand in rows]


def daily_review_id(slug: str) -> str:
    return f"daily-review-{slug}"


def engagement_scan_id(slug: str) -> str:
    return f"engagement-scan-{slug}"


def every(period: timedelta) -> ScheduleSpec:
    return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=period)])


def weekdays_at(
    hour: int, minute: int, timezone: str, comment: str = "daily review: weekdays, brand time zone"
) -> ScheduleSpec:
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                second=(ScheduleRange(0),),
                minute=(ScheduleRange(minute),),
                hour=(ScheduleRange(hour),),
                day_of_week=(WEEKDAYS,),
                comment=comment,
            )
        ],
        time_zone_name=timezone,
    )


def desired_schedules(
    settings: Settings, brands: Sequence[BrandClock], *, task_queue: str | None = None
) -> dict[str, Schedule]:
    queue = task_queue or settings.temporal_task_queue

    def schedule(
        workflow_run: Any, arg: object, sid: str, spec: ScheduleSpec, catchup: timedelta
    ) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(
                workflow_run,
                arg,
                id=sid,
                task_queue=queue,
                static_summary=f"scheduled job {sid}",
            ),
            spec=spec,
            # After an outage run once, not once per missed tick.
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=catchup),
        )

    wanted = {
        INBOX_POLL: schedule(
            InboxPollWorkflow.run,
            JobInput(),
            INBOX_POLL,
            every(settings.inbox_poll_every),
            settings.inbox_poll_every,
        ),
        SCHEDULED_DRAFTS: schedule(
            ScheduledDraftsWorkflow.run,
            JobInput(),
            SCHEDULED_DRAFTS,
            every(timedelta(minutes=1)),
            timedelta(minutes=1),
        ),
        LINK_CHECK: schedule(
            LinkCheckWorkflow.run,
            LinkCheckInput(),
            LINK_CHECK,
            every(settings.link_check_every),
            settings.link_check_every,
        ),
    }
    for brand in brands:
        sid = daily_review_id(brand.slug)
        wanted[sid] = schedule(
            DailyReviewWorkflow.run,
            DailyReviewInput(brand=brand.slug),
            sid,
            weekdays_at(*DAILY_REVIEW_AT, brand.timezone),
            timedelta(hours=6),
        )
        sid = engagement_scan_id(brand.slug)
        wanted[sid] = schedule(
            EngagementScanWorkflow.run,
            EngagementScanInput(brand=brand.slug),
            sid,
            weekdays_at(
                *ENGAGEMENT_SCAN_AT, brand.timezone, "engagement scan: weekdays, brand time zone"
            ),
            timedelta(hours=6),
        )
    return wanted


def _ranges(ranges: Sequence[ScheduleRange]) -> tuple[tuple[int, int, int], ...]:
    # The server hands ranges back filled in (end = start, step = 1): compare them that way.
    return tuple((r.start, max(r.end, r.start), r.step or 1) for r in ranges)


def signature(schedule: Schedule) -> tuple[object, ...]:
    """What ensure_schedules keeps in line: spec, policy and the workflow it starts."""
    spec = schedule.spec
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    calendars = tuple(
        (
            _ranges(c.second),
            _ranges(c.minute),
            _ranges(c.hour),
            _ranges(c.day_of_month),
            _ranges(c.month),
            _ranges(c.day_of_week),
        )
        for c in spec.calendars
    )
    intervals = tuple((i.every, i.offset or timedelta(0)) for i in spec.intervals)
    return (
        calendars,
        intervals,
        tuple(spec.cron_expressions),
        spec.time_zone_name or "",
        schedule.policy.overlap,
        schedule.policy.catchup_window,
        action.workflow,
        action.task_queue,
    )


async def ensure_schedules(
    client: Client,
    settings: Settings,
    brands: Sequence[BrandClock] = (),
    *,
    task_queue: str | None = None,
) -> dict[str, str]:
    """Creates missing schedules and updates changed ones. Returns id -> created | updated |
    unchanged. Safe to call from every worker at once."""
    outcome: dict[str, str] = {}
    for sid, wanted in desired_schedules(settings, brands, task_queue=task_queue).items():
        outcome[sid] = await _ensure_one(client, sid, wanted)
    return outcome


async def _ensure_one(client: Client, sid: str, wanted: Schedule) -> str:
    handle = client.get_schedule_handle(sid)
    try:
        current = await handle.describe()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        try:
            await client.create_schedule(sid, wanted)
            return "created"
        except ScheduleAlreadyRunningError:  # another worker created it just now
            current = await handle.describe()
    if signature(current.schedule) == signature(wanted):
        return "unchanged"

    def change(inp: ScheduleUpdateInput) -> ScheduleUpdate:
        # Keep the operator's state (paused, notes); replace what the code owns.
        wanted.state = inp.description.schedule.state
        return ScheduleUpdate(schedule=wanted)

    await handle.update(change)
    return "updated"
