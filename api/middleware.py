"""Request id per request: bound into structlog's context and returned as X-Request-ID; and
request metrics by route template."""

from __future__ import annotations

import itertools
import re
import secrets
import time

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dealpilot.core import metrics

HEADER = "X-Request-ID"
# Accept a caller's id only when it is short and plain, so it is safe to log and echo.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Our own ids: 32 hex digits, a random prefix per process and a counter. Unique like uuid4's,
# without reading the kernel's random source on every request (a profile of the pixel put
# uuid4 at 5% of the request).
_PROCESS = secrets.token_hex(8)
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_PROCESS}{next(_COUNTER) & 0xFFFFFFFFFFFFFFFF:016x}"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = (
            dict(scope.get("headers") or []).get(HEADER.lower().encode(), b"").decode("latin-1")
        )
        request_id = incoming if _SAFE_ID.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)


class MetricsMiddleware:
    """Counts each request by method, route *template* and status (dealpilot.core.metrics).

    The template comes from the route the router matched (FastAPI puts it in the scope), so
    `/api/crm/deals/12/` is counted as `/api/crm/deals/{deal_id}`: ids never become labels.
    Paths no route matches share one label."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            label = route_template(scope)
            metrics.record_http_request(
                scope["method"], label, status, time.perf_counter() - started
            )


def route_template(scope: Scope) -> str:
    """`/api/crm/deals/{deal_id}` for `/api/crm/deals/12/`; `<unmatched>` when no route matched.

    The matched route's template is relative to the prefix it was included with (FastAPI keeps
    included routers nested), so the prefix is the part of the path before where the route's
    own pattern matches. Our include prefixes are static (`/api/crm`), so no id leaks in."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str) or pattern is None:
        return "<unmatched>"
    path: str = scope.get("path", "")
    prefix = ""
    if not pattern.match(path):
        cut = path.find("/", 1)
        while cut != -1 and not pattern.match(path[cut:]):
            cut = path.find("/", cut + 1)
        prefix = path[:cut] if cut != -1 else ""
    # The CRM routes answer with and without the trailing slash: one label for both.
    return (prefix + template).rstrip("/") or "/"
