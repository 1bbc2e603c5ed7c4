"""Recorded deal histories, replayed on every run to catch non-determinism in DealWorkflow.

Record new ones after a deliberate change (old ones must keep replaying):
    DEALPILOT_RECORD_HISTORIES=1 .venv/bin/pytest tests/workflows tests/api_workflows
Rename the current ones first, so that they stay: `activities_*` were recorded before the
wake's database steps became local activities, `local_*` before a deal's first wake reused the
context its first task loaded (`first-wake-context`); the unprefixed ones are today's.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import WorkflowHandle

HISTORIES = Path(__file__).parent / "histories"


async def record(handle: WorkflowHandle, name: str) -> None:
    if not os.environ.get("DEALPILOT_RECORD_HISTORIES"):
        return
    history = await handle.fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json())
