"""The console over the app without Temporal (TestClient): a seeded database with an admin
and a Desi Firms operator. Tests with workflows use tests/console/test_actions.py's own
fixtures; browser tests live in tests/console/browser/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api import create_app
from dealpilot.core.settings import Settings
from dealpilot.setup.seed import seed
from models import session_scope
from tests.console.helpers import make_users


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
