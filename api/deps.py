"""FastAPI dependencies, as `Annotated` aliases: SessionDep, ApiKeyDep, PageDep, TemporalDep..."""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import structlog
from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from dealpilot.ai import AIEngine, build_engine
from dealpilot.core.errors import ErrorDetail, Unauthorized, Unprocessable
from dealpilot.core.settings import Settings
from dealpilot.rendering.renderer import EmailRenderer
from dealpilot.temporal.deals import DealWorkflows, require_workflows
from models.pagination import PageParams
from models.types import MAX_ID
from models.uow import AfterCommit, UnitOfWork, UnitsOfWork, unit_of_work

log = structlog.get_logger(__name__)


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_unit_of_work(engine: EngineDep) -> AsyncIterator[UnitOfWork]:
    """One unit of work per request: committed when the handler succeeds, rolled back
    otherwise; its after-commit work (workflow starts, signals) runs after the commit."""
    async with unit_of_work(engine) as uow:
        yield uow


# scope="function": commit before the response is sent, so a failed commit becomes an
# error response (409 ...) instead of a 2xx for data that was never stored.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work, scope="function")]


def get_transact(engine: EngineDep) -> UnitsOfWork:
    """For domain work that commits between steps reaching outside the database (the AI, a
    web page, Temporal): one unit of work per step (models.uow.Transact)."""
    return UnitsOfWork(engine)


TransactDep = Annotated[UnitsOfWork, Depends(get_transact)]


def get_session(uow: UnitOfWorkDep) -> Session:
    return uow.session


SessionDep = Annotated[Session, Depends(get_session)]


def get_after_commit(uow: UnitOfWorkDep) -> AfterCommit:
    return uow.after_commit


AfterCommitDep = Annotated[AfterCommit, Depends(get_after_commit)]


def get_optional_temporal(request: Request) -> DealWorkflows | None:
    client: Client | None = getattr(request.app.state, "temporal", None)
    if client is None:
        return None
    settings: Settings = request.app.state.settings
    return DealWorkflows(client=client, task_queue=settings.temporal_task_queue)


OptionalTemporalDep = Annotated[DealWorkflows | None, Depends(get_optional_temporal)]


def get_temporal(temporal: OptionalTemporalDep) -> DealWorkflows:
    return require_workflows(temporal)


# For endpoints that cannot do anything without Temporal: 503 `temporal_unavailable`.
TemporalDep = Annotated[DealWorkflows, Depends(get_temporal)]


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


# Every id is a positive 64-bit integer (the databases' BIGINT): anything larger or smaller
# is refused in validation (422) instead of overflowing the driver (500).
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def get_page(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (max 500)")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    after: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The `next_after` of the previous page (lists newest first: deals, "
            "email logs): pages by key, as fast however deep; not with `offset`",
        ),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, offset=offset, after=after)


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
