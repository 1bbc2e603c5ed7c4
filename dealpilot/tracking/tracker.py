"""Signed tracking and unsubscribe links.

A token is `base64url(json payload).base64url(HMAC-SHA256)`; the payload says what it is for
("o" open, "c" click, "u" unsubscribe), so a token made for one purpose never works for another,
and ids cannot be enumerated. A click token carries its target URL: the redirect goes only
there, never to a URL taken from the query string (no open redirect).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from html import escape, unescape
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(payload: dict[str, Any], secret: str) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(token: str, secret: str, *, purpose: str) -> dict[str, Any] | None:
    """The payload of a genuine token made for `purpose`, else None (whatever characters the
    token holds: ours are ASCII, anything else is not ours)."""
    if not token.isascii():
        return None
    body, _, mac = token.partition(".")
    if not body or not mac:
        return None
    expected = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("p") != purpose:
        return None
    return payload


@dataclass(frozen=True)
class Tracker:
    """Builds the links one outgoing email carries."""

    base_url: str
    secret: str

    def open_url(self, email_log_id: int) -> str:
        token = sign({"p": "o", "l": email_log_id}, self.secret)
        return f"{self.base_url.rstrip('/')}/api/crm/track/open/{token}.gif"

    def click_url(self, email_log_id: int, url: str) -> str:
        token = sign({"p": "c", "l": email_log_id, "u": url}, self.secret)
        return f"{self.base_url.rstrip('/')}/api/crm/track/click/{token}"

    def unsubscribe_url(self, brand_id: int, email: str, email_log_id: int | None) -> str:
        token = sign({"p": "u", "b": brand_id, "e": email, "l": email_log_id}, self.secret)
        return f"{self.base_url.rstrip('/')}/api/crm/unsubscribe/{token}"

    def pixel(self, email_log_id: int) -> str:
        src = escape(self.open_url(email_log_id))
        return (
            f'<img src="{src}" width="1" height="1" alt="" '
            'style="display:block;width:1px;height:1px;border:0" />'
        )


_HREF = re.compile(r'href=(["\'])(https?://[^"\']+)\1', re.IGNORECASE)


def rewrite_links(html: str, tracker: Tracker, email_log_id: int, *, keep: set[str]) -> str:
    """Points every http(s) link through the click redirect, except those in `keep`
    (the unsubscribe link must work even where tracking is blocked)."""

    def swap(match: re.Match[str]) -> str:
        quote, url = match.group(1), unescape(match.group(2))
        if url in keep:
            return match.group(0)
        return f"href={quote}{escape(tracker.click_url(email_log_id, url))}{quote}"

    return _HREF.sub(swap, html)
