"""The relay: the one task that signals stored events to their deals, so that no request waits
on Temporal.

An endpoint stores its events, commits, hands the deal ids to `Relay.wake` (which only notes
them) and answers; the relay then delivers those deals' pending events, oldest first. The hot
endpoints (pixel, click, replies) store their events unmatched (`receiving`) and call
`Relay.wake_settle`: the relay first settles every received event (`settling`: matched to its
email and deal), then delivers the deals they matched. Besides, it sweeps everything at start
and every `every`, so events stored while Temporal (or a worker, or this process) was down
reach their deals once it is back. Without Temporal (`workflows` None) it only settles.

When Temporal does not answer, the relay backs off (`backoff`, doubling up to `backoff_max`)
instead of trying again for every request: during an outage it makes one bounded attempt
(`delivery.SIGNAL_TIMEOUT`) per backoff period, and the woken deals wait in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

import structlog

from dealpilot.intake.delivery import DeliveryReport, deliver
from dealpilot.intake.settling import Settled, settle
from dealpilot.temporal.deals import DealWorkflows
from models.uow import Transact

log = structlog.get_logger(__name__)

RELAY_EVERY = timedelta(seconds=5)
BACKOFF = timedelta(seconds=1)
BACKOFF_MAX = timedelta(seconds=60)
BATCH = 500


class Relay:
    """One background task; `start` and `stop` are idempotent. A failing round is logged and
    retried after the backoff; it never ends the loop. Its database work runs through the
    `transact` its entry point (the API's lifespan) hands in. `every=None`: no sweeps (the
    deals it is woken for only)."""

    def __init__(
        self,
        workflows: DealWorkflows | None,
        transact: Transact,
        *,
        every: timedelta | None = RELAY_EVERY,
        batch: int = BATCH,
        backoff: timedelta = BACKOFF,
        backoff_max: timedelta = BACKOFF_MAX,
    ) -> None:
        self._workflows = workflows
        self._transact = transact
        self._every = None if every is None else every.total_seconds()
        self._batch = batch
        self._backoff = backoff.total_seconds()
        self._backoff_max = backoff_max.total_seconds()
        self._failures = 0
        self._woken: set[int] = set()
        self._unsettled = True  # events received before this process started, perhaps
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._loop_of_task: asyncio.AbstractEventLoop | None = None

    # ---------------------------------------------------------------- for the endpoints
    def wake(self, deal_ids: Iterable[int]) -> None:
        """Asks for these deals' pending events to be delivered soon. Never blocks and never
        fails: the events are already committed, and a sweep finds them in any case."""
        before = len(self._woken)
        self._woken.update(deal_ids)
        if len(self._woken) > before:
            self._set_wake()

    def wake_settle(self) -> None:
        """Asks for the received (unmatched) events to be settled, then delivered, soon."""
        self._unsettled = True
        self._set_wake()

    def _set_wake(self) -> None:
        # From the relay's own loop, or (an app served by two loops at once: tests) another.
        owner = self._loop_of_task
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if owner is None or owner is current or owner.is_closed():
            self._wake.set()
        else:
            owner.call_soon_threadsafe(self._wake.set)

    @property
    def failures(self) -> int:
        """Rounds in a row that could not reach Temporal (0 when the last one could)."""
        return self._failures

    # ------------------------------------------------------------------------ rounds
    async def settle_all(self) -> set[int]:
        """Settles every received event, a batch per unit of work; the deals they matched."""
        deal_ids: set[int] = set()
        while True:
            done: Settled = await self._transact(partial(settle, limit=self._batch))
            deal_ids |= done.deal_ids
            if done.events < self._batch:
                return deal_ids

    async def run_once(self) -> DeliveryReport:
        """A sweep: every received event settled, then whatever is pending delivered, up to
        the batch size."""
        self._unsettled = False
        await self.settle_all()
        return await deliver(self._workflows, self._transact, limit=self._batch)

    async def _round(self, deal_ids: list[int] | None) -> DeliveryReport | None:
        """One delivery (a sweep when `deal_ids` is None), after settling what was received;
        None when it failed outright."""
        try:
            if deal_ids is None:
                return await self.run_once()
            if self._unsettled:
                self._unsettled = False
                deal_ids = sorted(set(deal_ids) | await self.settle_all())
            return await deliver(
                self._workflows, self._transact, deal_ids=deal_ids, limit=self._batch
            )
        except Exception as exc:  # the database, most likely: retried after the backoff
            self._unsettled = True
            log.warning("intake.relay_round_failed", error_type=type(exc).__name__)
            return None

    def _pause_after_failure(self) -> float:
        self._failures += 1
        pause: float = self._backoff * 2.0 ** (self._failures - 1)
        return min(pause, self._backoff_max)

    async def _sleep(self, seconds: float | None, *, wakeable: bool) -> None:
        """Until `seconds` pass (None: forever), the relay stops or, if `wakeable`, a deal is
        woken."""
        waits = [asyncio.ensure_future(self._stopping.wait())]
        if wakeable:
            waits.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def _back_off(self, seconds: float, *, settle: bool) -> None:
        """The pause after a failed round. Received events are still settled meanwhile when the
        database answered (`settle`): only Temporal is away, and their deals, opened flags and
        the unmatched list need nothing from it. The deals they match wait for the next round."""
        deadline = time.monotonic() + seconds
        while settle and not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.clear()
            await self._sleep(left, wakeable=True)
            if not self._unsettled:
                continue
            self._unsettled = False
            try:
                self._woken.update(await self.settle_all())
            except Exception as exc:  # the database after all: wait out the pause
                self._unsettled = True
                log.warning("intake.settle_failed", error_type=type(exc).__name__)
                break
        await self._sleep(max(0.0, deadline - time.monotonic()), wakeable=False)

    async def _loop(self) -> None:
        next_sweep = time.monotonic() if self._every is not None else None
        while not self._stopping.is_set():
            sweep = next_sweep is not None and time.monotonic() >= next_sweep
            self._wake.clear()
            woken, self._woken = sorted(self._woken), set()
            if sweep and self._every is not None:
                next_sweep = time.monotonic() + self._every
            if sweep or woken or self._unsettled:
                report = await self._round(None if sweep else woken)
                if report is None or report.unreachable:
                    self._woken.update(woken)  # still owed, after the pause
                    await self._back_off(self._pause_after_failure(), settle=report is not None)
                    continue
                self._failures = 0
                if report.delivered >= self._batch:  # more is waiting: go again at once
                    if sweep:
                        next_sweep = time.monotonic()
                    else:
                        self.wake(woken)
                    continue
            wait = None if next_sweep is None else max(0.0, next_sweep - time.monotonic())
            await self._sleep(wait, wakeable=True)

    def start(self) -> bool:
        """Starts the loop on the running event loop; False if it already runs (the caller
        then leaves stopping it to whoever started it)."""
        if self._task is not None and not self._task.done():
            return False
        # Fresh events: asyncio's bind to the loop that first waits on them, and an app may be
        # served by one event loop after another (tests).
        self._wake, self._stopping = asyncio.Event(), asyncio.Event()
        if self._woken or self._unsettled:
            self._wake.set()
        self._loop_of_task = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._loop(), name="intake-relay")
        return True

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
