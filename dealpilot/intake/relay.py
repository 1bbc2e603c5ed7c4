"""The relay loop: delivers whatever is pending every few seconds, so events stored while
Temporal (or a worker) was down reach their deals once it is back."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog

from dealpilot.intake.delivery import DeliveryReport, deliver
from dealpilot.temporal.deals import DealWorkflows
from models.uow import Transact

log = structlog.get_logger(__name__)

RELAY_EVERY = timedelta(seconds=5)
BATCH = 500


class Relay:
    """One background task; `start` and `stop` are idempotent. A failing round is logged and
    retried next round; it never ends the loop. Its database work runs through the `transact`
    its entry point (the API's lifespan) hands in."""

    def __init__(
        self,
        workflows: DealWorkflows,
        transact: Transact,
        *,
        every: timedelta = RELAY_EVERY,
        batch: int = BATCH,
    ) -> None:
        self._workflows = workflows
        self._transact = transact
        self._every = every.total_seconds()
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_once(self) -> DeliveryReport:
        return await deliver(self._workflows, self._transact, limit=self._batch)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                report = await self.run_once()
                # A full batch means more is waiting: go again without sleeping.
                if report.delivered >= self._batch:
                    continue
            except Exception as exc:
                log.warning("intake.relay_round_failed", error_type=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._every)

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="intake-relay")

    async def stop(self, timeout: float = 10.0) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(task, timeout)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
