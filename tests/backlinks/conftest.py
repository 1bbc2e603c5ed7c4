from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.backlinks.pages import Pages, serve_pages


@pytest.fixture(scope="module")
def page_server() -> Iterator[Pages]:
    with serve_pages() as pages:
        yield pages


@pytest.fixture
def pages(page_server: Pages) -> Pages:
    page_server.html.clear()
    page_server.user_agents.clear()
    return page_server
