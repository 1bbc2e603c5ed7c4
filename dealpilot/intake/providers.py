"""Turning each provider's wire format into `Inbound` events. No I/O except the lookups the
caller hands in; a payload that does not have the provider's shape raises `MalformedEvent`."""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.parser import HeaderParser
from typing import Any

from sqlmodel import Session, col, func, or_, select

from dealpilot.ai.replies import strip_quoted
from dealpilot.core.errors import Unprocessable
from dealpilot.intake.bots import is_machine_open, looks_automated
from dealpilot.intake.recording import Inbound, content_key
from models import Brand, EmailEventType, EmailLog, utcnow

_ZEPTO_EVENTS = {
    "hardbounce": EmailEventType.bounce,
    "softbounce": EmailEventType.soft_bounce,
    "email_open": EmailEventType.open,
    "email_link_click": EmailEventType.click,
}
_MSG_ID = re.compile(r"<[^<>\s]+>")


class MalformedEvent(Unprocessable):
    """The body parsed but is not what the provider sends (HTTP 422 `invalid_event`)."""

    code = "invalid_event"


# ------------------------------------------------------------------------------ lookups
def log_for_reference(session: Session, reference: str | None) -> EmailLog | None:
    """Our idempotency key ("deal-{id}:step-{n}") travels as ZeptoMail's client_reference."""
    if not reference:
        return None
    return session.exec(select(EmailLog).where(EmailLog.idempotency_key == reference)).first()


def brand_for_addresses(session: Session, addresses: Iterable[str]) -> int | None:
    """The brand whose mailbox received a message: from/reply-to address, else domain."""
    wanted = {a.strip().lower() for a in addresses if a and "@" in a}
    if not wanted:
        return None
    rows = session.exec(
        select(Brand).where(
            or_(
                func.lower(col(Brand.from_email)).in_(wanted),
                func.lower(col(Brand.reply_to)).in_(wanted),
            )
        )
    ).all()
    if len({b.id for b in rows}) == 1:
        return rows[0].id
    domains = {a.rpartition("@")[2] for a in wanted}
    rows = session.exec(select(Brand).where(func.lower(col(Brand.domain)).in_(domains))).all()
    return rows[0].id if len({b.id for b in rows}) == 1 else None


# ------------------------------------------------------------------------------ helpers
def addresses(value: Any) -> list[str]:
    """Addresses from a header value ("Sam <s@x>, t@y") or a list of them."""
    if isinstance(value, list | tuple):
        return [a for v in value for a in addresses(v)]
    if not isinstance(value, str):
        return []
    return [addr.lower() for _name, addr in email.utils.getaddresses([value]) if "@" in addr]


def message_ids(*values: str | None) -> tuple[str, ...]:
    """Message ids from In-Reply-To / References values, newest reference first."""
    found: list[str] = []
    for value in values:
        if not value:
            continue
        ids = _MSG_ID.findall(value) or [value.strip()]
        found.extend(reversed(ids) if len(ids) > 1 else ids)
    return tuple(dict.fromkeys(i for i in found if i))


def parse_date(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                return utcnow()
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return utcnow()


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _need(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise MalformedEvent(f"{name} is required")
    return value


def reply(
    *,
    source: str,
    dedupe_key: str,
    sender: str,
    recipients: list[str],
    subject: str,
    text: str,
    in_reply_to: str | None,
    references: str | None,
    occurred_at: datetime,
    brand_for: Callable[[list[str]], int | None],
    payload: dict[str, Any],
) -> Inbound:
    senders = addresses(sender)
    if not senders:
        raise MalformedEvent("the sender has no email address")
    return Inbound(
        event_type=EmailEventType.reply,
        source=source,
        dedupe_key=dedupe_key,
        occurred_at=occurred_at,
        brand_id=brand_for(recipients),
        message_ids=message_ids(in_reply_to, references),
        recipients=tuple(a.strip().lower() for a in recipients[:20] if a),
        email=senders[0],
        text=strip_quoted(text)[:20000],
        subject=subject[:300],
        payload=payload,
    )


# ------------------------------------------------------------------------------ ZeptoMail
def parse_zeptomail(data: Any, log_for: Callable[[str | None], EmailLog | None]) -> list[Inbound]:
    if not isinstance(data, dict):
        raise MalformedEvent("expected a JSON object")
    names, messages = data.get("event_name"), data.get("event_message")
    if not isinstance(names, list) or not isinstance(messages, list) or not names:
        raise MalformedEvent("event_name and event_message lists are required")
    name = names[0]
    kind = _ZEPTO_EVENTS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise MalformedEvent(f"unsupported event {name!r}")
    request_id = _str(data.get("request_id"))
    out: list[Inbound] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("email_info"), dict):
            raise MalformedEvent("event_message items need email_info")
        info = message["email_info"]
        reference = _str(info.get("client_reference")) or None
        log = log_for(reference)
        recipients = [
            _str(t.get("email_address", {}).get("address"))
            for t in info.get("to") or []
            if isinstance(t, dict) and isinstance(t.get("email_address"), dict)
        ]
        details: list[dict[str, Any]] = []
        for data_item in message.get("event_data") or []:
            if isinstance(data_item, dict):
                details.extend(d for d in data_item.get("details") or [] if isinstance(d, dict))
        for n, detail in enumerate(details or [{}]):
            recipient = _str(detail.get("bounced_recipient")) or (recipients[:1] or [""])[0]
            reason = "; ".join(
                t for t in (_str(detail.get("reason")), _str(detail.get("diagnostic_message"))) if t
            )
            when = detail.get("time") or info.get("processed_time")
            url = _str(detail.get("clicked_link")) or None
            ua = _str(detail.get("user_agent"))
            out.append(
                Inbound(
                    event_type=kind,
                    source="zeptomail",
                    dedupe_key=content_key(
                        name, request_id, reference, recipient, when, url, index, n
                    ),
                    occurred_at=parse_date(when),
                    brand_id=log.brand_id if log else None,
                    email_log_id=log.id if log else None,
                    email=recipient.lower() or None,
                    url=url,
                    is_bot=bool(ua) and looks_automated(ua),
                    machine_open=kind == EmailEventType.open and is_machine_open(ua),
                    text=reason[:1000],
                    subject=_str(info.get("subject")),
                    payload={"event": name, "request_id": request_id, "message": message},
                )
            )
    return out


# ------------------------------------------------------------------------------ Mailgun
def parse_mailgun(form: Mapping[str, str], brand_for: Callable[[list[str]], int | None]) -> Inbound:
    headers: dict[str, str] = {}
    raw_headers = form.get("message-headers")
    if raw_headers:
        try:
            pairs = json.loads(raw_headers)
        except ValueError as exc:
            raise MalformedEvent("message-headers is not JSON") from exc
        if not isinstance(pairs, list):
            raise MalformedEvent("message-headers must be a list")
        for pair in pairs:
            if isinstance(pair, list) and len(pair) == 2:
                headers.setdefault(str(pair[0]).lower(), str(pair[1]))
    sender = form.get("from") or form.get("sender") or ""
    message_id = form.get("Message-Id") or headers.get("message-id") or ""
    text = form.get("stripped-text") or form.get("body-plain") or ""
    return reply(
        source="mailgun",
        dedupe_key=message_id.strip() or content_key(sender, form.get("subject"), text),
        sender=_need({"from": sender}, "from"),
        recipients=addresses(form.get("recipient") or form.get("To") or headers.get("to", "")),
        subject=form.get("subject") or headers.get("subject", ""),
        text=text,
        in_reply_to=form.get("In-Reply-To") or headers.get("in-reply-to"),
        references=form.get("References") or headers.get("references"),
        occurred_at=parse_date(headers.get("date") or form.get("Date")),
        brand_for=brand_for,
        payload={k: v for k, v in form.items() if k not in ("signature", "token", "body-html")},
    )


# ------------------------------------------------------------------------------ Postmark
def parse_postmark(data: Any, brand_for: Callable[[list[str]], int | None]) -> Inbound:
    if not isinstance(data, dict):
        raise MalformedEvent("expected a JSON object")
    headers = {
        _str(h.get("Name")).lower(): _str(h.get("Value"))
        for h in data.get("Headers") or []
        if isinstance(h, dict)
    }
    from_full = data.get("FromFull")
    if not isinstance(from_full, dict):
        from_full = {}
    sender = _str(from_full.get("Email")) or _str(data.get("From"))
    to = [_str(t.get("Email")) for t in data.get("ToFull") or [] if isinstance(t, dict)]
    text = _str(data.get("StrippedTextReply")) or _str(data.get("TextBody"))
    dedupe = _str(data.get("MessageID")) or headers.get("message-id", "")
    return reply(
        source="postmark",
        dedupe_key=dedupe or content_key(sender, data.get("Subject"), text),
        sender=_need({"From": sender}, "From"),
        recipients=to or addresses(data.get("To")),
        subject=_str(data.get("Subject")),
        text=text,
        in_reply_to=headers.get("in-reply-to"),
        references=headers.get("references"),
        occurred_at=parse_date(data.get("Date")),
        brand_for=brand_for,
        payload={k: v for k, v in data.items() if k not in ("HtmlBody", "Attachments")},
    )


# ------------------------------------------------------------------------------ SendGrid
def parse_sendgrid(
    form: Mapping[str, str], brand_for: Callable[[list[str]], int | None]
) -> Inbound:
    headers = HeaderParser().parsestr(form.get("headers") or "")
    envelope_to: list[str] = []
    if form.get("envelope"):
        try:
            envelope = json.loads(form["envelope"])
        except ValueError as exc:
            raise MalformedEvent("envelope is not JSON") from exc
        if isinstance(envelope, dict):
            envelope_to = addresses(envelope.get("to") or [])
    sender = form.get("from") or headers.get("From") or ""
    message_id = headers.get("Message-ID") or ""
    text = form.get("text") or ""
    return reply(
        source="sendgrid",
        dedupe_key=message_id.strip() or content_key(sender, form.get("subject"), text),
        sender=_need({"from": sender}, "from"),
        recipients=envelope_to or addresses(form.get("to") or headers.get("To") or ""),
        subject=form.get("subject") or headers.get("Subject") or "",
        text=text,
        in_reply_to=headers.get("In-Reply-To"),
        references=headers.get("References"),
        occurred_at=parse_date(headers.get("Date")),
        brand_for=brand_for,
        payload={k: v for k, v in form.items() if k not in ("html",)},
    )


# ------------------------------------------------------------------------------ generic
def parse_generic(data: Any, brand_for: Callable[[list[str]], int | None]) -> Inbound:
    """`{from, to, subject, text, message_id, in_reply_to, references, received_at}`."""
    if not isinstance(data, dict):
        raise MalformedEvent("expected a JSON object")
    for name in ("from", "text"):
        if not isinstance(data.get(name), str):
            raise MalformedEvent(f"{name} is required")
    refs = data.get("references")
    references = " ".join(refs) if isinstance(refs, list) else _str(refs)
    message_id = _str(data.get("message_id"))
    return reply(
        source="webhook",
        dedupe_key=message_id.strip()
        or content_key(data.get("from"), data.get("subject"), data.get("text")),
        sender=data["from"],
        recipients=addresses(data.get("to")),
        subject=_str(data.get("subject")),
        text=data["text"],
        in_reply_to=_str(data.get("in_reply_to")) or None,
        references=references or None,
        occurred_at=parse_date(data.get("received_at")),
        brand_for=brand_for,
        payload=data,
    )
