"""The console over the app without Temporal (`browser`: TestClient on a seeded database with
an admin and a Desi Firms operator), and in front of running deal workflows (`console`: the
api_workflows stack, signed in as the Desi Firms operator). Browser tests: browser/."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api import create_app
from dealpilot.core.settings import Settings
from dealpilot.setup.seed import seed
from models import session_scope
from tests.api_workflows.conftest import Api, api  # noqa: F401 (fixtures)
from tests.console.helpers import DESI_OPERATOR, alogin, make_users
from tests.workflows.conftest import smtp, stack, time_env  # noqa: F401 (fixtures)


@pytest.fixture
def console_app(engine: Engine) -> FastAPI:
    with session_scope(engine) as session:
        seed(session)
    make_users(engine)
    return create_app(
        engine=engine, api_keys={"k-console"}, settings=Settings(DEALPILOT_ENV="test")
    )


@pytest.fixture
def browser(console_app: FastAPI) -> Iterator[TestClient]:
    """A client keeping cookies like a browser; server errors become 500 pages."""
    with TestClient(console_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
async def console(api: Api) -> AsyncIterator[tuple[Api, httpx.AsyncClient, str]]:  # noqa: F811
    make_users(api.stack.engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app),
        base_url="http://console.test",
        follow_redirects=True,
    ) as http:
        csrf = await alogin(http, DESI_OPERATOR)
        yield api, http, csrf
