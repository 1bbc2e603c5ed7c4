"""The daily engagement scan (a Temporal Schedule per brand, weekdays 08:30 in the brand's time
zone, see dealpilot/temporal/schedules.py): every open deal's tier is recomputed, its row
written, and the deal's workflow told with the `tier_refreshed` signal, which changes the tier
and its search attribute without waking the deal otherwise (workflows.cadence `retier`). The
same activity then decides the brand's A/B tests whose figures are in (the automatic winner)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow

from workflows.deal_activities import LIVENESS
from workflows.jobs import JOB_RETRY


@dataclass
class EngagementScanInput:
    brand: str  # slug


@dataclass
class EngagementScanReport:
    brand: str
    scanned: int = 0  # open deals looked at
    changed: int = 0  # deals whose tier changed (row written, workflow signalled)
    signalled: int = 0
    unreachable: list[int] = field(default_factory=list)  # deals whose workflow is gone
    # Stages whose A/B winner was promoted by this scan (dealpilot.deals.ab_winner).
    ab_promoted: list[int] = field(default_factory=list)


@workflow.defn
class EngagementScanWorkflow:
    @workflow.run
    async def run(self, inp: EngagementScanInput) -> EngagementScanReport:
        report: EngagementScanReport = await workflow.execute_activity(
            "refresh_engagement_tiers",
            inp,
            result_type=EngagementScanReport,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=LIVENESS,
            retry_policy=JOB_RETRY,
            summary=f"refresh the engagement tiers of {inp.brand}'s open deals",
        )
        return report
