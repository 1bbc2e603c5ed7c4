"""The deal cycle's baseline: a workflow that only sleeps (kept apart so the sandbox imports
nothing but temporalio for it)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow


@workflow.defn(name="BenchSleeper")
class Sleeper:
    @workflow.run
    async def run(self, timers: int) -> int:
        for _ in range(timers):
            await workflow.sleep(timedelta(days=1))
        return timers
