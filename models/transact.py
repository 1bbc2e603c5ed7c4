"""`Transact`: how domain code that must commit in several steps asks its entry point for one
unit of work per step.

Most domain calls take the caller's session and flush. A few must commit part of their work
before they do something outside the database, so that a crash or a retry sees it: the send
ledger row is committed as `sending` before the provider is called (a retry then never sends
twice), each inbox message is committed with its cursor, each AI call is logged once made.
Such code receives a `Transact` from its entry point (an activity) and runs each step through
it; the entry point opens the unit of work, commits it when the step returns and rolls it back
when the step raises. The domain itself never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlmodel import Session

T = TypeVar("T")


class Transact(Protocol):
    async def __call__(self, step: Callable[[Session], T], /) -> T:
        """Runs `step` in its own unit of work (its blocking I/O off the event loop) and
        commits when it returns."""
        ...
