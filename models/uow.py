"""The unit of work: one session, committed at one boundary (a request, an activity, a CLI
command), and the work that must wait for that commit (starting a deal's workflow, signalling
it). Domain code flushes, never commits; a workflow never sees a row that was rolled back.

    async with unit_of_work(engine) as uow:
        deal = service.create_deal(uow.session, data)
        uow.after_commit.add(partial(client.start, deal.id))
    # committed here, then the workflow is started
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Protocol, TypeVar

import anyio
import anyio.to_thread
import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

AfterCommitCallback = Callable[[], Awaitable[None]]
T = TypeVar("T")
log = structlog.get_logger(__name__)

# A step the database refused only because another unit of work held what it needed is run
# again, whole, after a short pause: attempts in all, and the first pause (doubled each time).
CONTENTION_ATTEMPTS = 6
CONTENTION_PAUSE = 0.05
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
_PG_SERIALIZATION_FAILURE, _PG_DEADLOCK = "40001", "40P01"


def is_contention(exc: BaseException) -> bool:
    """SQLite's busy or locked (including the immediate SQLITE_BUSY_SNAPSHOT of a read that
    turned into a write after another connection committed, which the busy timeout never
    waits for), PostgreSQL's serialization failure or deadlock: by the driver's error code,
    never by message text."""
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return getattr(exc.orig, "pgcode", None) in (_PG_SERIALIZATION_FAILURE, _PG_DEADLOCK)


async def in_thread(
    func: Callable[..., T], *args: Any, on_cancel: Callable[[], None] | None = None
) -> T:
    """`func(*args)` in anyio's thread pool (Starlette's), awaited to its end even when the
    caller is cancelled, whose CancelledError is raised once the thread is done.

    A thread cannot be stopped. anyio shields its own cancel scopes' cancellation (a request's),
    but not asyncio's `Task.cancel()`, which is how Temporal cancels an activity and how a
    shutdown stops a background task: the await returns at once while the thread goes on. Had
    it been working on a unit of work's session, the rollback and close that follow would run
    beside it on a second thread, and its next statement would begin a transaction nobody ends:
    a connection left idle in transaction, holding its locks, until the garbage collector finds
    the session. Database work done for a unit of work therefore goes through here.

    `on_cancel` is called, on the event loop, when the first cancellation arrives: a way to tell
    the thread that nobody will take its result."""
    work = asyncio.ensure_future(anyio.to_thread.run_sync(func, *args))
    cancelled = False
    while not work.done():
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            if not cancelled and on_cancel is not None:
                on_cancel()
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return work.result()


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
        await in_thread(self.session.commit)
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
        await in_thread(partial(uow.finish, commit=False))
        raise
    await in_thread(partial(uow.finish, commit=True))
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
        calls in a worker thread itself, through `in_thread`."""
        ...


class UnitsOfWork:
    """The `Transact` every entry point hands the domain: one unit of work per step, the step's
    blocking database I/O in a worker thread, never on the event loop. A step is a function of
    its session alone, so one the database refused for contention (`is_contention`) is rolled
    back and run again: the one retry policy for busy databases, so that a stored unsubscribe
    or event never turns into an error because another writer held the lock."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def __call__(self, step: Callable[[Session], T], /) -> T:
        pause = CONTENTION_PAUSE
        for attempt in range(1, CONTENTION_ATTEMPTS + 1):
            abandoned = threading.Event()
            try:
                return await in_thread(
                    _run_step, self._engine, step, abandoned, on_cancel=abandoned.set
                )
            except DBAPIError as exc:
                if attempt == CONTENTION_ATTEMPTS or not is_contention(exc):
                    raise
                log.info("uow.contention_retry", attempt=attempt, error_type=type(exc).__name__)
                await anyio.sleep(pause)
                pause *= 2
        raise AssertionError("unreachable")  # the last attempt returned or raised

    async def run_async(self, step: Callable[[Session], Awaitable[T]], /) -> T:
        async with unit_of_work(self._engine) as uow:
            return await step(uow.session)


def _run_step(engine: Engine, step: Callable[[Session], T], abandoned: threading.Event) -> T:
    """A whole unit of work in one thread, so its session never meets another thread; rolled
    back when it raised or when its caller was cancelled meanwhile (`abandoned`): a cancelled
    activity leaves nothing behind of the step it was waiting for."""
    uow = UnitOfWork(engine)
    try:
        result = step(uow.session)
    except BaseException:
        uow.finish(commit=False)
        raise
    uow.finish(commit=not abandoned.is_set())
    return result
