"""Inbound webhooks: ZeptoMail events, inbound replies from Mailgun, Postmark and SendGrid, their
spam-complaint events (`/webhooks/events/{mailgun,postmark,sendgrid}`), and our own signed
generic reply webhook. Public (no API key): each checks its provider's proof.

Every request: body at most 1 MB (413); secret not configured → 503 `webhook_not_configured`
(never accepted unsigned); bad proof → 401; unparseable → 400; wrong shape → 422. In all those
cases nothing is stored and nothing is signalled. A duplicate delivery answers 200 and is
processed once (events are unique per source and provider id).

Replies, opens, clicks and soft bounces are stored with one insert and answered; the relay
matches them to their deal afterwards (`intake.accept`). Complaints and hard bounces are
recorded in full, their suppression committed, before the answer."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from dealpilot.core.errors import (
    BadRequest,
    DealpilotError,
    ServiceUnavailable,
)
from dealpilot.core.settings import Settings
from dealpilot.intake import Inbound, accept
from dealpilot.intake.complaints import (
    mailgun_complaints,
    postmark_complaints,
    sendgrid_complaints,
)
from dealpilot.intake.providers import (
    brand_for_addresses,
    log_for_reference,
    parse_generic,
    parse_mailgun,
    parse_postmark,
    parse_sendgrid,
    parse_zeptomail,
)
from dealpilot.intake.signatures import (
    SignatureError,
    TokenGuard,
    same_secret,
    verify_dealpilot,
    verify_mailgun,
    verify_zeptomail,
)
from models.uow import UnitsOfWork

log = structlog.get_logger(__name__)

MAX_BODY = 1024 * 1024

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class Accepted(BaseModel):
    """Events are matched to their deal after the answer: `GET /api/crm/events/` shows it."""

    received: int  # events in the request
    new: int  # events stored for the first time (0 for a duplicate delivery)


def _not_configured(setting: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"This webhook is not configured: set {setting}", code="webhook_not_configured"
    )


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body, refused (413) past `limit` without reading the rest."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # noqa: SLF001 -- lets request.form() parse what was read
    return body


def _too_large(limit: int) -> DealpilotError:
    return DealpilotError(
        f"The body is larger than {limit // 1024} KB", code="payload_too_large", status_code=413
    )


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The body is not valid JSON", code="malformed_body") from exc


async def _form(request: Request) -> dict[str, str]:
    try:
        form = await request.form(max_files=20, max_fields=200)
    except Exception as exc:  # python-multipart raises several types for broken bodies
        raise BadRequest("The body is not a valid form", code="malformed_body") from exc
    return {k: v for k, v in form.multi_items() if not isinstance(v, UploadFile)}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _with_session(engine: Engine, fn: Callable[..., Any], *args: Any) -> Any:
    with Session(engine) as session:
        return fn(session, *args)


async def _parse(request: Request, parse: Callable[[Session], Any]) -> Any:
    return await run_in_threadpool(_with_session, _engine(request), parse)


async def _accept(request: Request, inbounds: list[Inbound]) -> Accepted:
    state = request.app.state
    new = await accept(UnitsOfWork(_engine(request)), state.receiver, state.relay, inbounds)
    return Accepted(received=len(inbounds), new=new)


def _brand_lookup(session: Session) -> Callable[[list[str]], int | None]:
    return partial(brand_for_addresses, session)


def _brand_later(_recipients: list[str]) -> int | None:
    """A reply's brand is found from its recipients when it is settled, after the answer."""
    return None


# ------------------------------------------------------------------------------ ZeptoMail
@router.post("/zeptomail", response_model=Accepted)
async def zeptomail(
    request: Request,
    producer_signature: Annotated[str | None, Header(alias="producer-signature")] = None,
) -> Accepted:
    """Bounces, opens and clicks. Verified with `ZEPTOMAIL_WEBHOOK_KEY` (see
    dealpilot.intake.signatures); matched by `client_reference` (our idempotency key), else
    by recipient."""
    settings = _settings(request)
    if settings.zeptomail_webhook_key is None:
        raise _not_configured("ZEPTOMAIL_WEBHOOK_KEY")
    body = await read_body(request)
    verify_zeptomail(
        body,
        producer_signature,
        settings.zeptomail_webhook_key.get_secret_value(),
        window=settings.webhook_replay_window,
    )
    data = _json(body)
    inbounds = await _parse(request, lambda s: parse_zeptomail(data, partial(log_for_reference, s)))
    return await _accept(request, inbounds)


# ------------------------------------------------------------------------------ Mailgun
def _mailgun_guard(request: Request, settings: Settings) -> TokenGuard:
    guard: TokenGuard | None = getattr(request.app.state, "mailgun_tokens", None)
    if guard is None:
        guard = request.app.state.mailgun_tokens = TokenGuard(settings.webhook_replay_window)
    return guard


@router.post("/inbound/mailgun", response_model=Accepted)
async def mailgun(request: Request) -> Accepted:
    """A Mailgun route forwarding replies. Verified with `MAILGUN_SIGNING_KEY`; a timestamp
    outside the window or a token reused for another message is refused."""
    settings = _settings(request)
    if settings.mailgun_signing_key is None:
        raise _not_configured("MAILGUN_SIGNING_KEY")
    await read_body(request)
    form = await _form(request)
    token = form.get("token", "")
    verify_mailgun(
        form.get("timestamp", ""),
        token,
        form.get("signature", ""),
        settings.mailgun_signing_key.get_secret_value(),
        window=settings.webhook_replay_window,
    )
    inbound = parse_mailgun(form, _brand_later)
    _mailgun_guard(request, settings).check(token, inbound.dedupe_key)
    return await _accept(request, [inbound])


# ------------------------------------------------------------------------------ Postmark
@router.post("/inbound/postmark", response_model=Accepted)
async def postmark(request: Request) -> Accepted:
    """Postmark inbound JSON, behind HTTP basic auth (`POSTMARK_INBOUND_USER` and
    `POSTMARK_INBOUND_PASSWORD`, given in the webhook URL as `https://user:pass@host/...`)."""
    _postmark_auth(request)
    data = _json(await read_body(request))
    inbound = parse_postmark(data, _brand_later)
    return await _accept(request, [inbound])


def _postmark_auth(request: Request) -> None:
    settings = _settings(request)
    if not settings.postmark_inbound_user or settings.postmark_inbound_password is None:
        raise _not_configured("POSTMARK_INBOUND_USER and POSTMARK_INBOUND_PASSWORD")
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        user, sep, password = "", "", ""
    # Both compared in full, whatever the first says, so timing tells nothing.
    user_ok = same_secret(user, settings.postmark_inbound_user)
    pass_ok = same_secret(password, settings.postmark_inbound_password.get_secret_value())
    if scheme.lower() != "basic" or not sep or not (user_ok and pass_ok):
        raise SignatureError("basic auth credentials do not match", basic=True)


# ------------------------------------------------------------------------------ SendGrid
@router.post("/inbound/sendgrid", response_model=Accepted)
async def sendgrid(
    request: Request, key: Annotated[str | None, Query(max_length=200)] = None
) -> Accepted:
    """SendGrid Inbound Parse (multipart). The parse URL carries `?key=<SENDGRID_INBOUND_KEY>`."""
    _sendgrid_key(request, key)
    await read_body(request)
    form = await _form(request)
    inbound = parse_sendgrid(form, _brand_later)
    return await _accept(request, [inbound])


def _sendgrid_key(request: Request, key: str | None) -> None:
    settings = _settings(request)
    if settings.sendgrid_inbound_key is None:
        raise _not_configured("SENDGRID_INBOUND_KEY")
    if not same_secret(key, settings.sendgrid_inbound_key.get_secret_value()):
        raise SignatureError("the key in the URL does not match")


# ------------------------------------------------------------------------------ complaints
@router.post("/events/mailgun", response_model=Accepted)
async def mailgun_events(request: Request) -> Accepted:
    """Mailgun event webhooks (JSON, `signature: {timestamp, token, signature}` signed with
    `MAILGUN_SIGNING_KEY`): `complained` becomes a complaint; other events are acknowledged."""
    settings = _settings(request)
    if settings.mailgun_signing_key is None:
        raise _not_configured("MAILGUN_SIGNING_KEY")
    data = _json(await read_body(request))
    proof = data.get("signature") if isinstance(data, dict) else None
    proof = proof if isinstance(proof, dict) else {}
    token = str(proof.get("token", ""))
    verify_mailgun(
        str(proof.get("timestamp", "")),
        token,
        str(proof.get("signature", "")),
        settings.mailgun_signing_key.get_secret_value(),
        window=settings.webhook_replay_window,
    )
    inbounds = await _parse(request, lambda s: mailgun_complaints(data, _brand_lookup(s)))
    for inbound in inbounds:
        _mailgun_guard(request, settings).check(token, inbound.dedupe_key)
    return await _accept(request, inbounds)


@router.post("/events/postmark", response_model=Accepted)
async def postmark_events(request: Request) -> Accepted:
    """Postmark's spam-complaint webhook (`RecordType: SpamComplaint`), behind the same basic
    auth as its inbound webhook; other record types are acknowledged."""
    _postmark_auth(request)
    data = _json(await read_body(request))
    inbounds = await _parse(request, lambda s: postmark_complaints(data, _brand_lookup(s)))
    return await _accept(request, inbounds)


@router.post("/events/sendgrid", response_model=Accepted)
async def sendgrid_events(
    request: Request, key: Annotated[str | None, Query(max_length=200)] = None
) -> Accepted:
    """SendGrid's Event Webhook (a JSON array), the URL carrying `?key=<SENDGRID_INBOUND_KEY>`:
    `spamreport` events become complaints; the others are acknowledged."""
    _sendgrid_key(request, key)
    data = _json(await read_body(request))
    inbounds = await _parse(request, lambda s: sendgrid_complaints(data, _brand_lookup(s)))
    return await _accept(request, inbounds)


# ------------------------------------------------------------------------------ generic
@router.post("/reply", response_model=Accepted)
async def generic_reply(
    request: Request,
    signature: Annotated[str | None, Header(alias="X-Dealpilot-Signature")] = None,
    timestamp: Annotated[str | None, Header(alias="X-Dealpilot-Timestamp")] = None,
) -> Accepted:
    """Any system that can POST JSON: `{from, to, subject, text, message_id, in_reply_to,
    references, received_at}`. Sign it: `X-Dealpilot-Timestamp: <unix seconds>` and
    `X-Dealpilot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + raw body>` with
    `DEALPILOT_WEBHOOK_SECRET`. Quoted history in `text` is stripped here."""
    settings = _settings(request)
    if settings.dealpilot_webhook_secret is None:
        raise _not_configured("DEALPILOT_WEBHOOK_SECRET")
    body = await read_body(request)
    verify_dealpilot(
        body,
        signature,
        timestamp,
        settings.dealpilot_webhook_secret.get_secret_value(),
        window=settings.webhook_replay_window,
    )
    data = _json(body)
    inbound = parse_generic(data, _brand_later)
    return await _accept(request, [inbound])
