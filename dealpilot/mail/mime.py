"""Build the full RFC 5322 / MIME message for providers that send raw mail (outbox, smtp)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from dealpilot.mail.base import OutgoingEmail, PermanentMailError

# RFC 5322's hard line limit: folding long tokens (a signed unsubscribe URL) at 78 makes the
# email package fall back to RFC 2047 encoded-words, which clients do not decode in
# List-Unsubscribe, so the one-click link would vanish.
WIRE = policy.SMTP.clone(max_line_length=998)

# Headers the builder owns; a caller-supplied duplicate would produce an ambiguous message.
RESERVED_HEADERS = frozenset(
    {
        "bcc",
        "cc",
        "content-transfer-encoding",
        "content-type",
        "date",
        "from",
        "message-id",
        "mime-version",
        "reply-to",
        "return-path",
        "sender",
        "subject",
        "to",
    }
)
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'
_MESSAGE_ID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")


def validate_message_id(message_id: str, *, provider: str) -> None:
    if not _MESSAGE_ID.match(message_id):
        raise PermanentMailError(
            "Message-ID must look like <local@domain>", code="invalid_message_id", provider=provider
        )


def validate_headers(headers: Mapping[str, str], *, provider: str) -> None:
    """Refuse header names we own, malformed names, and values that could inject headers."""
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            raise PermanentMailError(
                f"invalid header name {name!r}", code="invalid_header", provider=provider
            )
        if name.lower() in RESERVED_HEADERS:
            raise PermanentMailError(
                f"header {name!r} is set by the mail builder",
                code="invalid_header",
                provider=provider,
            )
        if "\r" in value or "\n" in value:
            raise PermanentMailError(
                f"header {name!r} has a line break", code="invalid_header", provider=provider
            )


def _address(name: str, addr: str, *, provider: str, field: str) -> Address:
    try:
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise PermanentMailError(
            f"invalid {field} address", code="invalid_address", provider=provider
        ) from exc


def build_message(
    email: OutgoingEmail, *, provider: str, now: datetime | None = None
) -> EmailMessage:
    """multipart/alternative (text first, then html), every header we promise, CRLF line ends.

    Non-ASCII display names and subjects come out RFC 2047 encoded; bodies are UTF-8
    quoted-printable so the message is 7-bit clean for any relay.
    """
    validate_message_id(email.message_id, provider=provider)
    validate_headers(email.headers, provider=provider)
    for field_name, value in (
        ("subject", email.subject),
        ("name", email.from_name + email.to_name),
    ):
        if "\r" in value or "\n" in value:
            raise PermanentMailError(
                f"{field_name} has a line break", code="invalid_header", provider=provider
            )

    msg = EmailMessage(policy=WIRE)
    msg["From"] = _address(email.from_name, email.from_email, provider=provider, field="from")
    msg["To"] = _address(email.to_name, email.to_email, provider=provider, field="to")
    msg["Subject"] = email.subject
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = email.message_id
    if email.reply_to:
        msg["Reply-To"] = _address("", email.reply_to, provider=provider, field="reply-to")
    for name, value in email.headers.items():
        msg[name] = value
    msg.set_content(email.text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(email.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The message exactly as it goes over the wire (CRLF)."""
    return msg.as_bytes(policy=WIRE)
