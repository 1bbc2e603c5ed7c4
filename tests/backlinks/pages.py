"""A real local HTTP server for link verification: pages set per test, plus fixed routes for
the awkward cases (redirect, PDF, slow, huge, 404/500). Uvicorn in a thread, as the OpenAI
tests do; nothing in our code is replaced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.mail.servers import serve_asgi

HUGE_CHUNK = b"<p>" + b"filler text " * 5000 + b"</p>\n"  # ~60 KB, reused: no allocation


@dataclass
class Pages:
    """What the server answers at /page/{name}; and every User-Agent it saw."""

    html: dict[str, str] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)  # served as bare "text/html"
    user_agents: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # the Host header of each page request
    base_url: str = ""

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def set(self, name: str, body: str) -> str:
        self.html[name] = body
        return self.url(f"/page/{name}")

    async def page(self, request: Request) -> Response:
        self.user_agents.append(request.headers.get("user-agent", ""))
        self.hosts.append(request.headers.get("host", ""))
        body = self.html.get(request.path_params["name"])
        if body is None:
            return HTMLResponse("<h1>Not found</h1>", status_code=404)
        return HTMLResponse(body)

    async def raw_page(self, request: Request) -> Response:
        body = self.raw.get(request.path_params["name"], b"")
        return Response(body, headers={"content-type": "text/html"})

    async def redirect(self, request: Request) -> Response:
        return RedirectResponse(f"/page/{request.path_params['name']}", status_code=301)

    async def loop(self, request: Request) -> Response:
        return RedirectResponse("/loop", status_code=302)

    async def pdf(self, request: Request) -> Response:
        return Response(
            b"%PDF-1.7 <a href='https://codeteki.example.com/'>x</a>", media_type="application/pdf"
        )

    async def status(self, request: Request) -> Response:
        code = int(request.path_params["code"])
        return HTMLResponse("<h1>error</h1>", status_code=code)

    async def slow(self, request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("s", "5")))
        return HTMLResponse("<a href='https://codeteki.example.com/'>late</a>")

    async def trickle(self, request: Request) -> Response:
        """Each chunk well inside the read timeout, the whole far beyond the deadline."""

        async def body() -> AsyncIterator[bytes]:
            for _ in range(100):
                yield b"<p>still here</p>"
                await asyncio.sleep(0.05)

        return StreamingResponse(body(), media_type="text/html")

    async def huge(self, request: Request) -> Response:
        """A link at the start, MBs of filler, a second link at `at_mb`, filler to `total_mb`."""
        at = int(float(request.query_params.get("at_mb", "4")) * 1_000_000)
        total = int(float(request.query_params.get("total_mb", "20")) * 1_000_000)

        async def body() -> AsyncIterator[bytes]:
            yield b"<html><body><a href='https://codeteki.example.com/early'>early link</a>"
            sent, late_done = 0, False
            while sent < total:
                if not late_done and sent >= at:
                    yield b"<a href='https://codeteki.example.com/late'>late link</a>"
                    late_done = True
                yield HUGE_CHUNK
                sent += len(HUGE_CHUNK)

        return StreamingResponse(body(), media_type="text/html; charset=utf-8")


@contextmanager
def serve_pages() -> Iterator[Pages]:
    pages = Pages()
    app = Starlette(
        routes=[
            Route("/page/{name}", pages.page),
            Route("/raw/{name}", pages.raw_page),
            Route("/moved/{name}", pages.redirect),
            Route("/loop", pages.loop),
            Route("/file.pdf", pages.pdf),
            Route("/status/{code}", pages.status),
            Route("/slow", pages.slow),
            Route("/trickle", pages.trickle),
            Route("/huge", pages.huge),
        ]
    )
    with serve_asgi(app) as url:
        pages.base_url = url
        yield pages
