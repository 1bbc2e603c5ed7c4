from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api_workflows.conftest import api  # noqa: F401 (fixture, for test_workflows)
from tests.backlinks.pages import Pages, serve_pages
from tests.workflows.conftest import smtp, stack, time_env  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def page_server() -> Iterator[Pages]:
    with serve_pages() as pages:
        yield pages


@pytest.fixture
def pages(page_server: Pages) -> Pages:
    page_server.html.clear()
    page_server.raw.clear()
    page_server.user_agents.clear()
    page_server.hosts.clear()
    return page_server


@pytest.fixture(autouse=True)
def _local_pages_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test pages are on 127.0.0.1, which link checks refuse by default: the worker of the
    `stack` fixture builds its Settings from the environment."""
    monkeypatch.setenv("LINK_CHECK_ALLOW_PRIVATE", "true")
