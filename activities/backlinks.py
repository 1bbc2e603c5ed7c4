"""The link-check activities LinkCheckWorkflow runs: thin wrappers over `LinkChecks`."""

from __future__ import annotations

from temporalio import activity

from activities._errors import maps_errors
from activities._liveness import activity_body
from dealpilot.backlinks.checks import LinkChecks
from dealpilot.temporal.deals import DealWorkflows
from workflows.link_checks import (
    CandidatesRequest,
    LinkOutcome,
    VerifyBatchReport,
    VerifyBatchRequest,
)


class LinkCheckActivities:
    def __init__(self, checks: LinkChecks) -> None:
        self._checks = checks

    @activity.defn(name="link_check_candidates")
    @activity_body
    async def link_check_candidates(self, req: CandidatesRequest) -> list[int]:
        return await self._checks.candidates(req.brand)

    @activity.defn(name="verify_links")
    @maps_errors  # beats itself, with its checkpoint as details
    async def verify_links(self, req: VerifyBatchRequest) -> VerifyBatchReport:
        done = 0

        def beat(outcome: LinkOutcome) -> None:
            nonlocal done
            done += 1
            activity.heartbeat(done, outcome.opportunity_id)

        outcomes = await self._checks.verify(
            req.opportunity_ids, DealWorkflows(activity.client()), progress=beat
        )
        return VerifyBatchReport(outcomes=outcomes)
