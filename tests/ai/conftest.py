"""Fixtures shared by the AI tests: a local OpenAI-format server and an engine talking to it,
and the API client (for prompt edits)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dealpilot.ai import AIEngine, build_engine
from dealpilot.core.settings import Settings
from tests.ai.fake_openai import FakeOpenAI, serve_openai
from tests.api.conftest import app, client  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def openai_server() -> Iterator[tuple[str, FakeOpenAI]]:
    with serve_openai() as served:
        yield served


@pytest.fixture
def fake(openai_server: tuple[str, FakeOpenAI]) -> FakeOpenAI:
    """The server with no scripted answers and no requests yet."""
    _, fake = openai_server
    fake.answers.clear()
    fake.requests.clear()
    return fake


@pytest.fixture
def model_engine(openai_server: tuple[str, FakeOpenAI]) -> AIEngine:
    settings = Settings.model_validate(
        {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": openai_server[0], "OPENAI_TIMEOUT": 5}
    )
    return build_engine(settings)
