"""Every async activity heartbeats while it runs, so a worker that dies is noticed within the
heartbeat timeout the workflows set (`workflows.deal_activities.LIVENESS`, seconds) rather
than after the activity's whole start-to-close timeout (minutes: an AI call, a send).

The beat runs beside the activity's body, not inside it: a body waiting on a database lock or
a slow provider is alive and keeps beating; only a dead (or frozen) worker stops.

The sync activities (short database work in the thread pool, start-to-close 30 s) do not
heartbeat: beating from a helper thread through the SDK's thread-safe heartbeat stalled the
worker's workflow tasks under load (200 deals starting at once), so they keep plain
`maps_errors` and their own short timeout.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from temporalio import activity

from activities._errors import maps_errors

P = ParamSpec("P")
R = TypeVar("R")
BEAT_EVERY = 2.0  # seconds; Temporal forwards at most one beat per 80% of the timeout


def _beat() -> None:
    try:
        activity.heartbeat()
    except RuntimeError:  # the attempt has just finished; nothing left to keep alive
        pass


def heartbeats(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Wraps an async activity body so it heartbeats every `BEAT_EVERY` seconds."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if not activity.in_activity():
            return await fn(*args, **kwargs)

        async def beat() -> None:
            while True:
                _beat()
                await asyncio.sleep(BEAT_EVERY)

        beater = asyncio.create_task(beat())
        try:
            return await fn(*args, **kwargs)
        finally:
            beater.cancel()

    return run


def activity_body(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """What every async activity's body wears, under `activity.defn`: our errors mapped to the
    ones Temporal retries or gives up on (`_errors`), and a heartbeat while it runs."""
    return heartbeats(maps_errors(fn))
