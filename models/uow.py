"""The unit of work: one session, committed at one boundary (a request, an activity, a CLI
command), and the work that must wait for that commit (starting a deal's workflow, signalling
it). Domain code flushes, never commits; a workflow never sees a row that was rolled back.

    async with unit_of_work(engine) as uow:
        deal = service.create_deal(uow.session, data)
        uow.after_commit.add(partial(client.start, deal.id))
    # committed here, then the workflow is started
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Protocol, TypeVar

import anyio.to_thread
from sqlalchemy import Engine
from sqlmodel import Session

AfterCommitCallback = Callable[[], Awaitable[None]]
T = TypeVar("T")


class AfterCommit:
    """Work to run only once the transaction has committed, in the order it was added."""

    def __init__(self) -> None:
        self._callbacks: list[AfterCommitCallback] = []

    def add(self, callback: AfterCommitCallback) -> None:
        self._callbacks.append(callback)

    async def run(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            await callback()


class UnitOfWork:
    def __init__(self, engine: Engine) -> None:
        self.session = Session(engine, expire_on_commit=False)
        self.after_commit = AfterCommit()
        # The after-commit work's own units of work (storing the workflow ids it started).
        self.transact: Transact = UnitsOfWork(engine)

    def finish(self, *, commit: bool) -> None:
        try:
            if commit:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()

    async def commit_now(self) -> None:
        """Commits early and runs the after-commit work, for callers whose answer must show
        what that work did (the workflow id of a deal just created). The closing commit then
        has nothing left to do."""
        await anyio.to_thread.run_sync(self.session.commit)
        await self.after_commit.run()


@asynccontextmanager
async def unit_of_work(engine: Engine) -> AsyncIterator[UnitOfWork]:
    """Commits when the block succeeds (database I/O in the thread pool, never on the event
    loop), rolls back when it raises; the after-commit work runs only after a commit.

    The thread pool is anyio's, the one Starlette's run_in_threadpool uses, without importing
    Starlette: activities and the CLI use this too, and the worker must not load the web stack."""
    uow = UnitOfWork(engine)
    try:
        yield uow
    except BaseException:
        await anyio.to_thread.run_sync(partial(uow.finish, commit=False))
        raise
    await anyio.to_thread.run_sync(partial(uow.finish, commit=True))
    await uow.after_commit.run()


class Transact(Protocol):
    """How domain code that must commit in several steps asks its entry point for one unit of
    work per step.

    Most domain calls take the caller's session and flush. A few must commit part of their work
    before they do something outside the database, so that a crash or a retry sees it: the send
    ledger row is committed as `sending` before the provider is called (a retry then never
    sends twice), each inbox message is committed with its cursor, each AI call is logged once
    made. Such code receives a `Transact` from its entry point and runs each step through it;
    the entry point's `UnitsOfWork` opens the unit of work, commits it when the step returns
    and rolls it back when the step raises. The domain itself never commits."""

    async def __call__(self, step: Callable[[Session], T], /) -> T: ...

    async def run_async(self, step: Callable[[Session], Awaitable[T]], /) -> T:
        """One unit of work held open across an async step's awaits, for the rare step whose
        transaction must span I/O outside the database (the intake relay keeps the events it
        claimed locked while it signals their deals). The step runs its blocking database
        calls in a worker thread itself."""
        ...


class UnitsOfWork:
    """The `Transact` every entry point hands the domain: one unit of work per step, the step's
    blocking database I/O in a worker thread, never on the event loop."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def __call__(self, step: Callable[[Session], T], /) -> T:
        async with unit_of_work(self._engine) as uow:
            return await anyio.to_thread.run_sync(step, uow.session)

    async def run_async(self, step: Callable[[Session], Awaitable[T]], /) -> T:
        async with unit_of_work(self._engine) as uow:
            return await step(uow.session)
