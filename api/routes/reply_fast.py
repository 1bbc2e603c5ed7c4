"""The signed generic reply webhook (`POST /api/crm/webhooks/reply`) answered before the router,
as `tracking.TrackingFastPath` answers pixels and clicks: a request that is signed, fresh, well
formed and stored gets `{"received": 1, "new": n}` here, exactly as the route would answer it;
anything else (no secret configured, a body too large, a bad signature, a malformed body, the
database refusing the event) goes on to the route with its body replayed, and the route
answers it the documented way (503, 413, 401, 400, 422)."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from dealpilot.core.errors import DealpilotError
from dealpilot.core.settings import Settings
from dealpilot.intake import receive_and_relay
from dealpilot.intake.providers import parse_generic
from dealpilot.intake.receiving import SUPPRESSING
from dealpilot.intake.signatures import verify_dealpilot

MAX_BODY = 1024 * 1024  # as `webhooks.MAX_BODY`


class Route:
    """What `api.middleware.route_template` reads of a matched route, for the metrics label."""

    def __init__(self, path: str) -> None:
        self.path_format = path
        self.path_regex = re.compile("^" + re.escape(path) + "$")


def _no_brand(_recipients: list[str]) -> int | None:
    """The reply's brand is found from its recipients when it is settled, after the answer."""
    return None


def _replaying(chunks: list[bytes], more: bool, receive: Receive) -> Receive:
    """`receive` for the route: the body already read first, then whatever is left."""
    pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": more}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def reply_fast_path(
    scope: Scope, receive: Receive, send: Send, route: Route
) -> Receive | None:
    """None when the request was answered here; else the `receive` the route must read the
    request's body from."""
    state = scope["app"].state
    settings: Settings = state.settings
    if settings.dealpilot_webhook_secret is None:
        return receive
    headers: dict[bytes, bytes] = dict(scope["headers"])
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return receive
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: the route sees it too
            return _replaying(chunks, False, receive) if chunks else receive
        chunk: bytes = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if size > MAX_BODY:
            return _replaying(chunks, more, receive)
    body = b"".join(chunks)
    replay = _replaying(chunks, False, receive)
    try:
        verify_dealpilot(
            body,
            _header(headers, b"x-dealpilot-signature"),
            _header(headers, b"x-dealpilot-timestamp"),
            settings.dealpilot_webhook_secret.get_secret_value(),
            window=settings.webhook_replay_window,
        )
        data: Any = json.loads(body)
        inbound = parse_generic(data, _no_brand)
    except Exception:  # noqa: BLE001 -- whatever it is, the route answers it as documented
        return replay
    if inbound.event_type in SUPPRESSING:
        return replay
    try:
        created = await receive_and_relay(state.receiver, state.relay, [inbound])
    except DealpilotError:
        return replay  # refused by the database: the route tries once more, then answers
    scope["route"] = route
    await JSONResponse({"received": 1, "new": sum(created)})(scope, receive, send)
    return None


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")
