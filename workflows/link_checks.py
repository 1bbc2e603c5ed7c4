"""LinkCheckWorkflow: the daily `link-check` schedule re-verifies every backlink that is being
pitched or was placed (dealpilot.backlinks does the fetching and the deal moves).

Pure orchestration: list the candidates, verify them in batches (each batch one activity
that heartbeats per page), add up what was found. A batch that fails after its retries is
counted and skipped; the next day's run checks those pages again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from dealpilot.core.enums import LinkCheck
from workflows.deal_activities import LIVENESS

BATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=3,
)


@dataclass
class LinkCheckInput:
    brand: str | None = None  # slug; None: every active brand
    batch_size: int = 20


@dataclass
class CandidatesRequest:
    brand: str | None = None


@dataclass
class VerifyBatchRequest:
    opportunity_ids: list[int] = field(default_factory=list)


@dataclass
class LinkOutcome:
    opportunity_id: int
    link_check: str  # models.LinkCheck value
    anchor: str | None = None
    rel: str | None = None
    error: str = ""
    newly_removed: bool = False
    newly_found: bool = False
    deal_id: int | None = None
    deal_moved: bool = False
    deal_note: str = ""  # why the deal was not moved, when it has one


@dataclass
class VerifyBatchReport:
    outcomes: list[LinkOutcome] = field(default_factory=list)


@dataclass
class LinkCheckReport:
    checked: int = 0
    found: int = 0
    missing: int = 0
    removed: int = 0
    errors: int = 0
    deals_moved: int = 0
    failed_batches: int = 0
    removed_ids: list[int] = field(default_factory=list)

    def add(self, outcome: LinkOutcome) -> None:
        self.checked += 1
        if outcome.link_check == LinkCheck.found:
            self.found += 1
        elif outcome.link_check == LinkCheck.missing:
            self.missing += 1
        elif outcome.link_check == LinkCheck.removed:
            self.removed += 1
            if outcome.newly_removed:
                self.removed_ids.append(outcome.opportunity_id)
        else:
            self.errors += 1
        self.deals_moved += int(outcome.deal_moved)


@workflow.defn
class LinkCheckWorkflow:
    @workflow.run
    async def run(self, inp: LinkCheckInput) -> LinkCheckReport:
        ids = await workflow.execute_activity(
            "link_check_candidates",
            CandidatesRequest(brand=inp.brand),
            result_type=list[int],
            start_to_close_timeout=timedelta(minutes=2),
            heartbeat_timeout=LIVENESS,
            retry_policy=BATCH_RETRY,
        )
        size = max(1, inp.batch_size)
        report = LinkCheckReport()
        for start in range(0, len(ids), size):
            batch = ids[start : start + size]
            workflow.set_current_details(
                f"checking links {start + 1}-{start + len(batch)} of {len(ids)}"
            )
            try:
                result = await workflow.execute_activity(
                    "verify_links",
                    VerifyBatchRequest(opportunity_ids=batch),
                    result_type=VerifyBatchReport,
                    # Pages are fetched a few at a time, each bounded by its own deadline.
                    start_to_close_timeout=timedelta(minutes=30),
                    heartbeat_timeout=timedelta(minutes=2),
                    retry_policy=BATCH_RETRY,
                    summary=f"verify {len(batch)} backlinks",
                )
            except ActivityError:
                report.failed_batches += 1
                workflow.logger.warning("link check batch failed", extra={"ids": batch})
                continue
            for outcome in result.outcomes:
                report.add(outcome)
        workflow.set_current_details(
            f"checked {report.checked}: {report.found} found, {report.removed} removed, "
            f"{report.errors} errors, {report.deals_moved} deals moved"
        )
        return report
