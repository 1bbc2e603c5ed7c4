from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api import create_app
from dealpilot.core.settings import Settings

API_KEY = "test-key-1"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return create_app(
        engine=engine, api_keys={API_KEY, "test-key-2"}, settings=Settings(DEALPILOT_ENV="test")
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An authenticated client; unexpected server errors fail the test loudly."""
    with TestClient(app, headers=AUTH) as c:
        yield c


@pytest.fixture
def anon(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
