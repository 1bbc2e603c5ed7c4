"""Open pixel and click redirect (public; signed tokens, see dealpilot.tracking.tracker).

A token that is not ours (forged, altered, made for another purpose) gets 404 and records
nothing. A genuine one always gets its GIF or its redirect, even when the event is a duplicate
or Temporal is down: the event is stored first (one insert, `intake.receive_and_relay`), then
matched to its email and deal and delivered to the deal by the relay, after the answer.

These are the API's busiest requests (mail apps and their proxies fetch a pixel for every
email opened), so `TrackingFastPath` answers a genuine pixel or click before the router: it
does what the routes below do, without matching the path against every route and solving
dependencies. Anything else (a forged token, a failure to store) goes on to the routes, which
answer it the documented way."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.routes.reply_fast import Route, reply_fast_path
from dealpilot.core.errors import DealpilotError, NotFound
from dealpilot.core.settings import Settings
from dealpilot.intake import Inbound, content_key, receive_and_relay
from dealpilot.intake.bots import is_machine_open, looks_automated
from dealpilot.tracking.tracker import verify
from models import EmailEventType, utcnow

router = APIRouter(prefix="/track", tags=["tracking"])

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_CACHE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0, private",
    "Pragma": "no-cache",
    "Expires": "0",
}


def _verified(settings: Settings, token: str, purpose: str) -> dict[str, Any] | None:
    payload = verify(token, settings.tracking_secret.get_secret_value(), purpose=purpose)
    if payload is None or not isinstance(payload.get("l"), int):
        return None
    return payload


def _target(payload: dict[str, Any]) -> str | None:
    """The click's signed destination, if it is a web address (never a redirect elsewhere)."""
    url = payload.get("u")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        return None
    return url


def _inbound(kind: EmailEventType, log_id: int, url: str | None, agent: str) -> Inbound:
    now = utcnow()
    agent = agent[:400]
    return Inbound(
        event_type=kind,
        source="pixel" if kind == EmailEventType.open else "click",
        # One event per email, minute and client: a mail app re-rendering is not a new open.
        dedupe_key=content_key(log_id, kind, url, now.strftime("%Y%m%d%H%M"), agent),
        occurred_at=now,
        email_log_id=log_id,
        url=url,
        is_bot=looks_automated(agent),
        machine_open=kind == EmailEventType.open and is_machine_open(agent),
        payload={"user_agent": agent},
    )


def _payload(request: Request, token: str, purpose: str) -> dict[str, Any]:
    payload = _verified(request.app.state.settings, token, purpose)
    if payload is None:
        raise NotFound("No such link")
    return payload


async def _track(request: Request, kind: EmailEventType, log_id: int, url: str | None) -> None:
    inbound = _inbound(kind, log_id, url, request.headers.get("user-agent") or "")
    await receive_and_relay(request.app.state.receiver, request.app.state.relay, [inbound])


@router.get(
    "/open/{token}.gif",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}, "description": "A 1x1 transparent GIF"}},
)
async def open_pixel(token: str, request: Request) -> Response:
    payload = _payload(request, token, "o")
    await _track(request, EmailEventType.open, payload["l"], None)
    return Response(GIF, media_type="image/gif", headers=NO_CACHE)


@router.get("/click/{token}", response_class=RedirectResponse, status_code=302)
async def click(token: str, request: Request) -> RedirectResponse:
    """Redirects only to the URL inside the signed token (no open redirect)."""
    payload = _payload(request, token, "c")
    url = _target(payload)
    if url is None:
        raise NotFound("No such link")
    await _track(request, EmailEventType.click, payload["l"], url)
    return RedirectResponse(url, status_code=302, headers=NO_CACHE)


class _Template:
    """What `api.middleware.route_template` reads of a matched route, for the metrics label."""

    def __init__(self, template: str) -> None:
        self.path_format = template
        self.path_regex = re.compile("^" + re.escape(template).replace(r"\{token\}", "[^/]+") + "$")


class TrackingFastPath:
    """Answers a genuine pixel or click, and a genuine signed reply webhook
    (`api.routes.reply_fast`), before the router (see the module docstring); the
    innermost middleware, so request ids and metrics see these requests as they see any other.
    `prefix`: where the tracking router is mounted (`/api/crm`)."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.open_prefix = f"{prefix}{router.prefix}/open/"
        self.click_prefix = f"{prefix}{router.prefix}/click/"
        self.open_route = _Template(self.open_prefix + "{token}.gif")
        self.click_route = _Template(self.click_prefix + "{token}")
        # The signed generic reply webhook (`api.routes.reply_fast`).
        self.reply_path = f"{prefix}/webhooks/reply"
        self.reply_route = Route(self.reply_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(self.open_prefix) and path.endswith(".gif"):
                token = path[len(self.open_prefix) : -len(".gif")]
                if token and "/" not in token and await self._open(scope, receive, send, token):
                    return
            elif path.startswith(self.click_prefix):
                token = path[len(self.click_prefix) :]
                if token and "/" not in token and await self._click(scope, receive, send, token):
                    return
        elif scope["type"] == "http" and scope["method"] == "POST":
            if scope["path"] == self.reply_path:
                rest = await reply_fast_path(scope, receive, send, self.reply_route)
                if rest is None:
                    return
                receive = rest
        await self.app(scope, receive, send)

    async def _open(self, scope: Scope, receive: Receive, send: Send, token: str) -> bool:
        state = scope["app"].state
        payload = _verified(state.settings, token, "o")
        if payload is None or not await self._store(scope, EmailEventType.open, payload, None):
            return False
        scope["route"] = self.open_route
        await Response(GIF, media_type="image/gif", headers=NO_CACHE)(scope, receive, send)
        return True

    async def _click(self, scope: Scope, receive: Receive, send: Send, token: str) -> bool:
        payload = _verified(scope["app"].state.settings, token, "c")
        url = None if payload is None else _target(payload)
        if payload is None or url is None:
            return False
        if not await self._store(scope, EmailEventType.click, payload, url):
            return False
        scope["route"] = self.click_route
        await RedirectResponse(url, status_code=302, headers=NO_CACHE)(scope, receive, send)
        return True

    @staticmethod
    async def _store(
        scope: Scope, kind: EmailEventType, payload: dict[str, Any], url: str | None
    ) -> bool:
        """Stored (or a duplicate): True. Refused (the database): False, and the route answers
        with the error after trying once more."""
        agent = next((v for k, v in scope["headers"] if k == b"user-agent"), b"")
        inbound = _inbound(kind, payload["l"], url, agent.decode("latin-1"))
        state = scope["app"].state
        try:
            await receive_and_relay(state.receiver, state.relay, [inbound])
        except DealpilotError:
            return False
        return True
