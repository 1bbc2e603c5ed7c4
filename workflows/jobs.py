"""The scheduled jobs as workflows (started by Temporal Schedules, see
dealpilot/temporal/schedules.py): inbox poll, daily review per brand, scheduled drafts.
Pure orchestration over activities."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.deal_activities import LIVENESS

# A job runs again on its next tick: a few quick retries, never a pile of attempts.
JOB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=3,
)


# ----------------------------------------------------------------- contracts
@dataclass
class PollRequest:
    now: datetime | None = None


@dataclass
class PollReport:
    mailboxes: int = 0
    handled: int = 0
    replies: int = 0
    auto_replies: int = 0
    bounces: int = 0
    skipped_own: int = 0
    skipped_automated: int = 0
    duplicates: int = 0
    failed: int = 0
    deal_ids: list[int] = field(default_factory=list)
    delivered: int = 0
    pending: int = 0
    complaints: int = 0  # feedback-loop (ARF) reports: spam complaints


@dataclass
class JobInput:
    """Input of the interval jobs (inbox poll, scheduled drafts); room for future options."""

    note: str = ""


@dataclass
class DailyReviewInput:
    brand: str  # slug


@dataclass
class ReviewRequest:
    brand: str
    at: datetime


@dataclass
class RescoreResult:
    scored: int = 0
    contact_ids: list[int] = field(default_factory=list)


@dataclass
class StuckDeal:
    deal_id: int
    contact_email: str
    stage_name: str
    days_in_stage: int


@dataclass
class StuckResult:
    deals: list[StuckDeal] = field(default_factory=list)
    newly_flagged: list[int] = field(default_factory=list)


@dataclass
class WaitingDraft:
    draft_id: int
    subject: str
    waiting_hours: int


@dataclass
class DraftReminder:
    drafts: list[WaitingDraft] = field(default_factory=list)


@dataclass
class SummaryRequest:
    brand: str
    at: datetime
    rescored: RescoreResult
    stuck: StuckResult
    drafts: DraftReminder


@dataclass
class DailyReviewResult:
    brand: str
    day: str = ""
    summary_id: int | None = None
    skipped: str = ""  # why nothing was reviewed (unknown or inactive brand)


@dataclass
class DueDraftsRequest:
    now: datetime


@dataclass
class DueDraftsReport:
    drafts: list[int] = field(default_factory=list)
    deals_started: list[int] = field(default_factory=list)


# ----------------------------------------------------------------- workflows
@workflow.defn
class InboxPollWorkflow:
    @workflow.run
    async def run(self, inp: JobInput) -> PollReport:
        report: PollReport = await workflow.execute_activity(
            "poll_inbox",
            PollRequest(),  # the look-back is about real mailbox dates: the activity's clock
            result_type=PollReport,
            start_to_close_timeout=timedelta(minutes=4),
            heartbeat_timeout=timedelta(minutes=1),
            retry_policy=JOB_RETRY,
            summary="poll the mailboxes for replies and deliver them to their deals",
        )
        return report


@workflow.defn
class DailyReviewWorkflow:
    @workflow.run
    async def run(self, inp: DailyReviewInput) -> DailyReviewResult:
        req = ReviewRequest(brand=inp.brand, at=workflow.now())
        active: bool = await workflow.execute_activity(
            "brand_is_active",
            inp.brand,
            result_type=bool,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=JOB_RETRY,
            summary=f"is {inp.brand} active?",
        )
        if not active:
            return DailyReviewResult(brand=inp.brand, skipped="unknown or inactive brand")
        rescored: RescoreResult = await workflow.execute_activity(
            "rescore_new_contacts",
            req,
            result_type=RescoreResult,
            start_to_close_timeout=timedelta(minutes=20),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=JOB_RETRY,
            summary=f"AI: score {inp.brand}'s new contacts",
        )
        stuck: StuckResult = await workflow.execute_activity(
            "flag_stuck_deals",
            req,
            result_type=StuckResult,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=JOB_RETRY,
            summary=f"find {inp.brand}'s stuck deals",
        )
        drafts: DraftReminder = await workflow.execute_activity(
            "drafts_waiting_review",
            req,
            result_type=DraftReminder,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=JOB_RETRY,
            summary=f"{inp.brand}'s drafts waiting too long for review",
        )
        result: DailyReviewResult = await workflow.execute_activity(
            "write_daily_summary",
            SummaryRequest(inp.brand, req.at, rescored, stuck, drafts),
            result_type=DailyReviewResult,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=JOB_RETRY,
            summary=f"write {inp.brand}'s daily summary",
        )
        workflow.logger.info(
            "daily review written",
            extra={"brand": inp.brand, "stuck": len(stuck.deals), "scored": rescored.scored},
        )
        return result


@workflow.defn
class ScheduledDraftsWorkflow:
    @workflow.run
    async def run(self, inp: JobInput) -> DueDraftsReport:
        report: DueDraftsReport = await workflow.execute_activity(
            "release_due_drafts",
            DueDraftsRequest(now=workflow.now()),
            result_type=DueDraftsReport,
            start_to_close_timeout=timedelta(minutes=2),
            heartbeat_timeout=LIVENESS,
            retry_policy=JOB_RETRY,
            summary="release composer drafts whose time has come",
        )
        return report


JOB_WORKFLOWS: tuple[type, ...] = (InboxPollWorkflow, DailyReviewWorkflow, ScheduledDraftsWorkflow)
