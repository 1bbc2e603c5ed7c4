"""FastAPI dependencies, as `Annotated` aliases: SessionDep, ApiKeyDep, PageDep, ..."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import structlog
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.errors import Unauthorized
from api.pagination import PageParams
from dealpilot.settings import Settings

log = structlog.get_logger(__name__)

AfterCommitCallback = Callable[[], Awaitable[None]]


class AfterCommit:
    """Work to run only once the request's transaction has committed (e.g. starting a
    deal's Temporal workflow): a workflow must never see a row that was rolled back."""

    def __init__(self) -> None:
        self._callbacks: list[AfterCommitCallback] = []

    def add(self, callback: AfterCommitCallback) -> None:
        self._callbacks.append(callback)

    async def run(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            await callback()


def get_after_commit() -> AfterCommit:
    return AfterCommit()


AfterCommitDep = Annotated[AfterCommit, Depends(get_after_commit)]


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def _finish(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_session(engine: EngineDep, after_commit: AfterCommitDep) -> AsyncIterator[Session]:
    """One session per request: committed when the handler succeeds, rolled back otherwise.
    Database I/O runs in the thread pool, never on the event loop."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_finish, session, commit=False)
        raise
    await run_in_threadpool(_finish, session, commit=True)
    await after_commit.run()


# scope="function": commit before the response is sent, so a failed commit becomes an
# error response (409 ...) instead of a 2xx for data that was never stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


_bearer = HTTPBearer(auto_error=False, description="An API key from DEALPILOT_API_KEYS")


def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized()
    given = credentials.credentials.encode()
    keys: frozenset[str] = request.app.state.api_keys
    # Compare against every key, without stopping early, so timing reveals nothing.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key.encode())
    if not matched:
        log.info("api_key_rejected")
        raise Unauthorized("The API key is not valid")
    return credentials.credentials


ApiKeyDep = Annotated[str, Depends(require_api_key)]


def get_page(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (max 500)")] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(get_page)]
