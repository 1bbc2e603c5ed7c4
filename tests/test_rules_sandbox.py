"""workflows.rules and dealpilot.core.enums must load and run inside Temporal's workflow sandbox
(DealWorkflow uses them).

Kept free of pytest and other test imports: the sandbox re-imports this module, and the
module-level calls below then run under its restrictions (zoneinfo, hashlib included).
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from temporalio import workflow
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from dealpilot.core.enums import DealStatus, StageKind
from workflows import rules

_WINDOW = rules.SendWindow("Australia/Sydney", time(9), time(17), (0, 1, 2, 3, 4))
_NOW = datetime(2026, 3, 7, 1, 0, tzinfo=UTC)
IMPORT_TIME_RESULT = (
    rules.next_send_time(_NOW, _WINDOW, 42, "Asia/Kolkata"),
    rules.ab_variant(42),
    rules.engagement_tier(rules.EngagementStats(3, 0, 0, 0, 3), _NOW),
    DealStatus("won"),
)


@workflow.defn(sandboxed=True)
class RulesProbeWorkflow:
    @workflow.run
    async def run(self) -> str:
        return f"{rules.ab_variant(1)} {StageKind.lost}"


async def test_rules_import_and_run_inside_the_workflow_sandbox() -> None:
    defn = workflow._Definition.must_from_class(RulesProbeWorkflow)
    SandboxedWorkflowRunner().prepare_workflow(defn)  # raises on a restricted import or call
    assert IMPORT_TIME_RESULT[2] == "ghost"
    assert IMPORT_TIME_RESULT[3] is DealStatus.won
