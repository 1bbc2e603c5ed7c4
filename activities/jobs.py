"""The scheduled jobs' activities: the daily review (`DailyReview`), the scheduled drafts
(`dealpilot.composer.schedule`) and the engagement scan (`dealpilot.deals.tier_scan`). Thin:
one unit of work each where the domain works in one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from temporalio import activity
from temporalio.service import RPCError, RPCStatusCode

from activities._clock import activity_now
from activities._errors import maps_errors
from activities._liveness import activity_body
from dealpilot.composer.schedule import release_scheduled_drafts
from dealpilot.deals.tier_scan import scan_brand
from dealpilot.reporting.daily import DailyReview
from dealpilot.temporal.deals import DealWorkflows
from models import session_scope
from models.uow import Transact
from workflows.contracts import TierRefresh
from workflows.deal import DealWorkflow
from workflows.engagement_scan import EngagementScanInput, EngagementScanReport
from workflows.jobs import (
    DailyReviewResult,
    DraftReminder,
    DueDraftsReport,
    DueDraftsRequest,
    RescoreResult,
    ReviewRequest,
    StuckResult,
    SummaryRequest,
)

SIGNAL = timedelta(seconds=10)


class DailyReviewActivities:
    def __init__(self, engine: Engine, review: DailyReview) -> None:
        self._engine = engine
        self._review = review

    @activity.defn(name="brand_is_active")
    @maps_errors
    def brand_is_active(self, slug: str) -> bool:
        with session_scope(self._engine) as session:
            return self._review.brand_is_active(session, slug)

    @activity.defn(name="rescore_new_contacts")
    @maps_errors  # beats itself, with its checkpoint as details
    async def rescore_new_contacts(self, req: ReviewRequest) -> RescoreResult:
        return await self._review.rescore_new_contacts(req, heartbeat=activity.heartbeat)

    @activity.defn(name="flag_stuck_deals")
    @maps_errors
    def flag_stuck_deals(self, req: ReviewRequest) -> StuckResult:
        with session_scope(self._engine) as session:
            return self._review.flag_stuck_deals(session, req)

    @activity.defn(name="drafts_waiting_review")
    @maps_errors
    def drafts_waiting_review(self, req: ReviewRequest) -> DraftReminder:
        with session_scope(self._engine) as session:
            return self._review.drafts_waiting_review(session, req)

    @activity.defn(name="write_daily_summary")
    @maps_errors
    def write_daily_summary(self, req: SummaryRequest) -> DailyReviewResult:
        with session_scope(self._engine) as session:
            return self._review.write_daily_summary(session, req)


class ScheduledDraftsActivities:
    def __init__(self, transact: Transact) -> None:
        self._transact = transact

    @activity.defn(name="release_due_drafts")
    @activity_body
    async def release_due_drafts(self, req: DueDraftsRequest) -> DueDraftsReport:
        temporal = DealWorkflows(activity.client(), activity.info().task_queue)
        return await release_scheduled_drafts(temporal, self._transact, now=req.now)


class EngagementScanActivities:
    def __init__(self, transact: Transact) -> None:
        self._transact = transact

    @activity.defn(name="refresh_engagement_tiers")
    @activity_body
    async def refresh_engagement_tiers(self, inp: EngagementScanInput) -> EngagementScanReport:
        temporal = DealWorkflows(activity.client(), activity.info().task_queue)

        async def signal(deal_id: int, tier: str) -> bool:
            try:
                refresh = TierRefresh(tier=tier)
                await temporal.signal(deal_id, DealWorkflow.tier_refreshed, refresh, timeout=SIGNAL)
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:  # closed and gone: its row is enough
                    return False
                raise
            return True

        return await scan_brand(self._transact, signal, inp.brand, activity_now())
