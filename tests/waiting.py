"""Waiting for a condition instead of sleeping a fixed time: the one copy the tests share.

A test that waits for something (a server to answer, a row to appear, a process to exit)
polls the condition until it holds or a deadline passes; the deadline is only a bound on
a failing test, never what the test asserts. Time-skipping workflow tests do not need these:
they move time with `env.sleep(...)`.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition still did not hold when the deadline passed."""


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.2,
    what: str = "the condition",
) -> T:
    """Calls `condition` until it returns something truthy, and returns that."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


async def wait_until_async(
    condition: Callable[[], T | Awaitable[T]],
    *,
    timeout: float,
    interval: float = 0.2,
    what: str = "the condition",
) -> T:
    """`wait_until` for async tests: the condition may be a plain or an async function, and
    the event loop keeps running (servers on it keep answering) between checks."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
