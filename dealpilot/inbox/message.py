"""A received message, source-neutral: what the IMAP and Zoho sources both hand the poller."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from dealpilot.rendering.renderer import html_to_text

_MSG_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
# Only these headers are kept: what classification and matching need, nothing personal.
KEPT_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "content-type",
    "return-path",
)
MAX_TEXT = 50_000


@dataclass(frozen=True)
class InboxMessage:
    """One message from a mailbox. `ref` is the source's own handle (IMAP UID, Zoho id)."""

    ref: str
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_email: str
    subject: str
    text: str
    received_at: datetime
    headers: dict[str, str] = field(default_factory=dict)
    # Message-IDs quoted inside a delivery report (the bounced original's), if any.
    reported_ids: tuple[str, ...] = ()
    # From a delivery-status part: (recipient, status code such as "5.1.1", diagnostic).
    dsn: tuple[str, str, str] | None = None
    # From a feedback report (RFC 5965, ARF): (Feedback-Type such as "abuse", recipient).
    feedback: tuple[str, str] | None = None

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def message_ids(value: str | None) -> tuple[str, ...]:
    return tuple(_MSG_ID.findall(value or ""))


def parse_message(raw: bytes, *, ref: str, received_at: datetime | None = None) -> InboxMessage:
    """A full RFC 5322 message (IMAP BODY[]) as an InboxMessage."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    text = _text_of(msg)
    return _build(msg, ref=ref, text=text, received_at=received_at)


def parse_headers_and_body(
    raw_headers: str, *, html: str, ref: str, received_at: datetime | None = None
) -> InboxMessage:
    """Headers as raw text plus an HTML body (what the Zoho Mail API returns)."""
    msg = email.message_from_string(raw_headers.strip() + "\r\n\r\n", policy=email.policy.default)
    return _build(msg, ref=ref, text=html_to_text(html) if html else "", received_at=received_at)


def _build(msg: Message, *, ref: str, text: str, received_at: datetime | None) -> InboxMessage:
    _, sender = parseaddr(str(msg.get("From", "")))
    headers = {name: str(msg.get(name, "")) for name in KEPT_HEADERS if msg.get(name) is not None}
    reported, dsn, feedback = _report(msg)
    return InboxMessage(
        ref=ref,
        message_id=(message_ids(str(msg.get("Message-ID", ""))) or (None,))[0],
        in_reply_to=message_ids(str(msg.get("In-Reply-To", ""))),
        references=message_ids(str(msg.get("References", ""))),
        from_email=sender.strip().lower(),
        subject=" ".join(str(msg.get("Subject", "")).split())[:300],
        text=text[:MAX_TEXT],
        received_at=received_at or _date_of(msg),
        headers=headers,
        reported_ids=reported,
        dsn=dsn,
        feedback=feedback,
    )


def _date_of(msg: Message) -> datetime:
    try:
        when = parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError):
        return datetime.now(UTC)
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset, broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_subtype() == "html" else content


_Report = tuple[tuple[str, ...], tuple[str, str, str] | None, tuple[str, str] | None]


def _report(msg: Message) -> _Report:
    """A delivery report (RFC 3464: the failure) or a feedback report (RFC 5965: a spam
    complaint), with the original's Message-ID from its returned headers."""
    if msg.get_content_type() != "multipart/report":
        return (), None, None
    reported: list[str] = []
    dsn: tuple[str, str, str] | None = None
    feedback: tuple[str, str] | None = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers"):
            reported.extend(message_ids(_original_header(part, "Message-ID")))
        elif ctype == "message/delivery-status" and dsn is None:
            dsn = _status_of(part)
        elif ctype == "message/feedback-report" and feedback is None:
            feedback = _feedback_of(part)
    return tuple(dict.fromkeys(reported)), dsn, feedback


def _feedback_of(part: Message) -> tuple[str, str]:
    payload = part.get_payload()
    fields = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(fields, Message):  # left as text: read the two fields from it
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
        fields = email.message_from_string(text.strip() + "\n\n", policy=email.policy.default)
    kind = str(fields.get("Feedback-Type", "")).strip().lower() or "abuse"
    recipient = str(fields.get("Original-Rcpt-To") or fields.get("Removal-Recipient") or "")
    addresses = getaddresses([recipient])
    return kind, (addresses[0][1].lower() if addresses else "")


def _original_header(part: Message, name: str) -> str:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return str(payload[0].get(name, ""))  # message/rfc822: a parsed message
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
    found = re.search(rf"^{name}:\s*(.+)$", text, re.IGNORECASE | re.MULTILINE)
    return found.group(1) if found else ""


def _status_of(part: Message) -> tuple[str, str, str] | None:
    # The per-recipient fields follow the per-message block; the stdlib parses both as
    # header blocks (a list of Message), or leaves the text when it cannot.
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    for block in blocks:
        if not isinstance(block, Message):
            continue
        status = str(block.get("Status", "")).strip()
        if status:
            recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            addresses = getaddresses([recipient.partition(";")[2] or recipient])
            address = addresses[0][1].lower() if addresses else ""
            return address, status, " ".join(str(block.get("Diagnostic-Code", "")).split())
    return None
