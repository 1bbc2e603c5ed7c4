"""Browser tests: Playwright driving Debian's Chromium (`apt-get install chromium`; Playwright
cannot download browsers here) against the real stack: the app served by uvicorn on a free
port, on the same event loop as the time-skipping Temporal server's worker, a seeded
PostgreSQL and an SMTP inbox.

Chromium is found at $DEALPILOT_CHROMIUM, else `chromium` on PATH, else /usr/bin/chromium.
Without it the tests skip with the reason, except under CI (`CI` set), where a missing
browser fails them: CI must run them. Screenshots go to $TEST_ARTIFACTS_DIR/console
(default .artifacts/console)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright
from sqlmodel import select

from models import Brand, Contact, Pipeline, session_scope
from tests.api_workflows.conftest import API_KEY, api_app
from tests.console.helpers import PASSWORD, make_users
from tests.workflows.conftest import Stack, smtp, stack, time_env  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or ROOT / ".artifacts") / "console"


def chromium_path() -> str:
    for candidate in (
        os.environ.get("DEALPILOT_CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    reason = "Chromium not found (apt-get install chromium, or set DEALPILOT_CHROMIUM)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI runs the browser tests", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    path = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path)
        yield browser
        await browser.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Live:
    stack: Stack
    url: str
    page: Page

    async def sign_in(self, email: str, password: str = PASSWORD) -> None:
        await self.page.goto(f"{self.url}/console/")
        await self.page.get_by_label("Email").fill(email)
        await self.page.get_by_label("Password").fill(password)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.wait_for_url(f"{self.url}/console/")

    async def create_deal(self, email: str, *, brand: str, pipeline: str, name: str = "") -> int:
        """Through the REST API, as an integrator would: the row, then its workflow."""
        with session_scope(self.stack.engine) as s:
            b = s.exec(select(Brand).where(Brand.slug == brand)).one()
            p = s.exec(select(Pipeline).where(Pipeline.brand_id == b.id, Pipeline.slug == pipeline))
            contact = Contact(brand_id=b.id or 0, email=email, name=name)
            s.add(contact)
            s.flush()
            body = {"contact_id": contact.id, "pipeline_id": p.one().id}
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(base_url=self.url, headers=headers) as http:
            answer = await http.post("/api/crm/deals/", json=body)
        assert answer.status_code == 201, answer.text
        deal_id: int = answer.json()["id"]
        return deal_id

    async def api_get(self, path: str) -> dict[str, object]:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(base_url=self.url, headers=headers) as http:
            answer = await http.get(path)
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body

    async def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
async def live(stack: Stack, chromium: Browser) -> AsyncIterator[Live]:  # noqa: F811
    make_users(stack.engine)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(api_app(stack), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises why it stopped
        await asyncio.sleep(0.02)
    context = await chromium.new_context(viewport={"width": 2600, "height": 1000})
    try:
        yield Live(stack, f"http://127.0.0.1:{port}", await context.new_page())
    finally:
        await context.close()
        server.should_exit = True
        await serving
