"""The unit of work an activity opens around the domain, and what it hands the domain from
Temporal (the attempt's clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from models.uow import unit_of_work

T = TypeVar("T")


class UnitsOfWork:
    """`models.transact.Transact` for async activities: one unit of work per step, the step's
    blocking database I/O in a thread, never on the worker's event loop."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def __call__(self, step: Callable[[Session], T], /) -> T:
        async with unit_of_work(self._engine) as uow:
            return await asyncio.to_thread(step, uow.session)


def activity_now() -> datetime:
    """The server's clock for this attempt: real time in production, skipped time in tests."""
    return activity.info().current_attempt_scheduled_time
