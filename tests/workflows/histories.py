"""Recorded deal histories, replayed on every run to catch non-determinism in DealWorkflow.

Record new ones after a deliberate change (old ones must keep replaying):
    DEALPILOT_RECORD_HISTORIES=1 .venv/bin/pytest tests/workflows
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
