"""FastAPI dependencies, as `Annotated` aliases: SessionDep, ApiKeyDep, PageDep, TemporalDep..."""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from activities.ai import AIEngine, build_engine
from activities.rendering import EmailRenderer
from api.errors import ErrorDetail, ServiceUnavailable, Unauthorized, Unprocessable
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


async def commit_now(session: Session, after_commit: AfterCommit) -> None:
    """Commits the request's transaction early and runs its after-commit work, for handlers
    whose response must show what that work did (the workflow id of a deal just created).
    The request's own commit at the end then has nothing left to do."""
    await run_in_threadpool(session.commit)
    await after_commit.run()


@dataclass(frozen=True)
class Temporal:
    """The app's Temporal client and the task queue deal workflows run on."""

    client: Client
    task_queue: str


def get_optional_temporal(request: Request) -> Temporal | None:
    client: Client | None = getattr(request.app.state, "temporal", None)
    if client is None:
        return None
    settings: Settings = request.app.state.settings
    return Temporal(client=client, task_queue=settings.temporal_task_queue)


OptionalTemporalDep = Annotated[Temporal | None, Depends(get_optional_temporal)]


def require_temporal(temporal: Temporal | None) -> Temporal:
    if temporal is None:
        raise ServiceUnavailable(
            "Temporal is not configured for this API; deal workflows cannot be reached",
            code="temporal_unavailable",
        )
    return temporal


def get_temporal(temporal: OptionalTemporalDep) -> Temporal:
    return require_temporal(temporal)


# For endpoints that cannot do anything without Temporal: 503 `temporal_unavailable`.
TemporalDep = Annotated[Temporal, Depends(get_temporal)]


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


def _nul_paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nul_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, f"{path}.{index}" if path else str(index))


async def reject_nul_characters(request: Request) -> None:
    """PostgreSQL text cannot hold NUL; refuse it as a client error instead of failing
    deep in the driver with a 500."""
    bad = [key for key, value in request.query_params.multi_items() if "\x00" in value]
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()  # already read and cached by FastAPI
        if body:
            try:
                bad.extend(_nul_paths(json.loads(body), ""))
            except ValueError:
                pass  # malformed JSON is reported by FastAPI's own validation
    if bad:
        raise Unprocessable(
            "Text may not contain NUL characters",
            code="validation_error",
            details=[ErrorDetail(field=field, problem="contains a NUL character") for field in bad],
        )


def get_page(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (max 500)")] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(get_page)]


def get_renderer(request: Request) -> EmailRenderer:
    renderer: EmailRenderer | None = getattr(request.app.state, "renderer", None)
    if renderer is None:
        renderer = request.app.state.renderer = EmailRenderer()
    return renderer


RendererDep = Annotated[EmailRenderer, Depends(get_renderer)]


def get_ai(request: Request) -> AIEngine:
    """The engine that writes previews of AI emails: the one given to `create_app`, else the
    one the settings choose (offline heuristic engine without an API key)."""
    ai: AIEngine | None = getattr(request.app.state, "ai", None)
    if ai is None:
        ai = request.app.state.ai = build_engine(request.app.state.settings)
    return ai


AIDep = Annotated[AIEngine, Depends(get_ai)]
