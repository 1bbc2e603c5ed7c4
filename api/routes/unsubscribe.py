"""Unsubscribe links and RFC 8058 one-click unsubscribe (public; signed token).

GET shows a confirm page and changes nothing (link scanners fetch GETs). POST, from the page's
button or a mailbox provider's `List-Unsubscribe=One-Click`, suppresses the address for that
brand only and commits it before answering, so no email of that brand goes out after the
response (the send activity checks suppression in its claim transaction). Every open deal of the
contact in that brand then hears of it from the intake relay, after the answer (at once, or
once Temporal is back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.routes.webhooks import read_body
from dealpilot.core.errors import NotFound
from dealpilot.core.settings import Settings
from dealpilot.intake import Inbound, content_key, store_and_relay
from dealpilot.tracking.tracker import verify
from models import Brand, EmailEventType, utcnow
from models.uow import UnitsOfWork

PAGES_DIR = Path(__file__).resolve().parents[2] / "templates" / "pages"
_pages = Environment(
    loader=FileSystemLoader(str(PAGES_DIR)), autoescape=select_autoescape(["html"])
)

router = APIRouter(prefix="/unsubscribe", tags=["unsubscribe"])

NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _target(request: Request, token: str) -> tuple[int, str, int | None, str]:
    """(brand id, email, email log id, brand name) of a genuine token, else 404."""
    settings: Settings = request.app.state.settings
    payload: dict[str, Any] | None = verify(
        token, settings.tracking_secret.get_secret_value(), purpose="u"
    )
    if payload is None:
        raise NotFound("No such link")
    brand_id, email, log_id = payload.get("b"), payload.get("e"), payload.get("l")
    if not isinstance(brand_id, int) or not isinstance(email, str) or not email:
        raise NotFound("No such link")
    with Session(request.app.state.engine) as session:
        brand = session.get(Brand, brand_id)
    if brand is None:
        raise NotFound("No such link")
    return brand_id, email.lower(), log_id if isinstance(log_id, int) else None, brand.name


def _page(name: str, **context: Any) -> HTMLResponse:
    html = _pages.get_template(name).render(**context)
    return HTMLResponse(html, headers=NO_STORE)


@router.get("/{token}", response_class=HTMLResponse)
async def confirm_page(token: str, request: Request) -> HTMLResponse:
    _brand_id, email, _log_id, brand_name = await run_in_threadpool(_target, request, token)
    return _page("unsubscribe.html", brand_name=brand_name, email=email)


@router.post("/{token}", response_class=HTMLResponse)
async def unsubscribe(token: str, request: Request) -> Response:
    # Off the event loop: a busy database must not stall every other request (and, in one
    # process, the commits of the units of work holding the lock this read waits behind).
    brand_id, email, log_id, brand_name = await run_in_threadpool(_target, request, token)
    body = await read_body(request, limit=64 * 1024)
    fields = parse_qs(body.decode("utf-8", "replace")) if body else {}
    one_click = fields.get("List-Unsubscribe") == ["One-Click"]
    inbound = Inbound(
        event_type=EmailEventType.unsubscribe,
        source="unsubscribe",
        # Once per address and brand: a second click changes nothing.
        dedupe_key=content_key("unsubscribe", brand_id, email),
        occurred_at=utcnow(),
        brand_id=brand_id,
        email_log_id=log_id,
        email=email,
        text="one-click unsubscribe" if one_click else "unsubscribe link",
        payload={"one_click": one_click},
    )
    await store_and_relay(UnitsOfWork(request.app.state.engine), request.app.state.relay, [inbound])
    if one_click:
        return PlainTextResponse("unsubscribed\n", headers=NO_STORE)
    return _page("unsubscribe_done.html", brand_name=brand_name, email=email)
