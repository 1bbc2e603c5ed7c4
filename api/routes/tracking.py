"""Open pixel and click redirect (public; signed tokens, see dealpilot.tracking.tracker).

A token that is not ours (forged, altered, made for another purpose) gets 404 and records
nothing. A genuine one always gets its GIF or its redirect, even when the event is a duplicate
or Temporal is down: the event is stored first (one insert, `intake.receive_and_relay`), then
matched to its email and deal and delivered to the deal by the relay, after the answer."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from dealpilot.core.errors import NotFound
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


def _payload(request: Request, token: str, purpose: str) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    payload = verify(token, settings.tracking_secret.get_secret_value(), purpose=purpose)
    if payload is None or not isinstance(payload.get("l"), int):
        raise NotFound("No such link")
    return payload


async def _track(request: Request, kind: EmailEventType, log_id: int, url: str | None) -> None:
    now = utcnow()
    agent = (request.headers.get("user-agent") or "")[:400]
    inbound = Inbound(
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
    url = payload.get("u")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise NotFound("No such link")
    await _track(request, EmailEventType.click, payload["l"], url)
    return RedirectResponse(url, status_code=302, headers=NO_CACHE)
