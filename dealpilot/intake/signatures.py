"""Webhook authenticity checks, one per provider. Pure functions: bytes and secrets in, a
verdict out; every comparison is constant-time.

- ZeptoMail: `producer-signature: ts=<ms or s>;s=<base64 HMAC-SHA256>;s-algorithm=HmacSHA256`.
  The HMAC is taken with the webhook authentication key over the raw request body (as
  PROVIDERS.md records it); `ts` must be inside the replay window.
- Mailgun: hex HMAC-SHA256(signing key, timestamp + token) == signature; the timestamp must be
  inside the window, and a token is accepted for one message only (`TokenGuard`).
- Postmark: HTTP basic auth (user and password from the settings).
- SendGrid Inbound Parse: a shared secret in the URL query (`?key=`).
- Our own generic webhook: `X-Dealpilot-Signature: sha256=<hex HMAC-SHA256>` over
  `"{X-Dealpilot-Timestamp}." + raw body`, so the timestamp (and with it the replay window)
  cannot be changed without the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from datetime import datetime, timedelta

from dealpilot.core.errors import DealpilotError, ErrorDetail


class SignatureError(DealpilotError):
    """The request is not provably from the provider: a 401 whose detail says why (`str()` of
    the error is that reason too). `basic` asks the client for HTTP basic credentials."""

    status_code = 401
    code = "invalid_signature"

    def __init__(self, why: str, *, basic: bool = False) -> None:
        super().__init__(
            "The request could not be verified as coming from the provider",
            details=[ErrorDetail(field=None, problem=why)],
            headers={"WWW-Authenticate": 'Basic realm="dealpilot"'} if basic else None,
        )
        self.why = why

    def __str__(self) -> str:
        return self.why


def _fresh(ts: float, window: timedelta, now: float | None = None) -> None:
    now = time.time() if now is None else now
    if abs(now - ts) > window.total_seconds():
        raise SignatureError("timestamp outside the replay window")


def _number(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError as exc:
        raise SignatureError("timestamp is not a number") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise SignatureError("timestamp is not a number")
    return value


def parse_timestamp(text: str) -> float:
    """Unix seconds; milliseconds (13 digits) and ISO 8601 are accepted too.

    Digits are read as a number, never as a date: ISO 8601's basic format takes many digit
    strings for dates (`datetime.fromisoformat("1796010110447")`, ZeptoMail's milliseconds on
    2026-11-30, is a day in 1796), which refused about one genuine signature in thirty."""
    stripped = text.strip()
    if not (stripped.isascii() and stripped.replace(".", "", 1).isdigit()):
        try:
            return datetime.fromisoformat(stripped).timestamp()
        except ValueError:
            pass
    value = _number(stripped)
    return value / 1000 if value > 1e11 else value


def verify_zeptomail(
    body: bytes, header: str | None, key: str, *, window: timedelta, now: float | None = None
) -> None:
    if not header:
        raise SignatureError("producer-signature header missing")
    parts: dict[str, str] = {}
    for item in header.split(";"):
        name, sep, value = item.strip().partition("=")
        if sep:
            parts[name.strip().lower()] = value.strip()
    algorithm = parts.get("s-algorithm", "HmacSHA256")
    if algorithm.lower() != "hmacsha256" or "s" not in parts or "ts" not in parts:
        raise SignatureError("producer-signature is malformed")
    _fresh(parse_timestamp(parts["ts"]), window, now)
    try:
        given = base64.b64decode(parts["s"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("producer-signature is not base64") from exc
    expected = hmac.new(key.encode(), body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, given):
        raise SignatureError("producer-signature does not match")


def verify_mailgun(
    timestamp: str,
    token: str,
    signature: str,
    key: str,
    *,
    window: timedelta,
    now: float | None = None,
) -> None:
    if not (timestamp and token and signature):
        raise SignatureError("timestamp, token and signature are required")
    _fresh(_number(timestamp), window, now)
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureError("signature does not match")


def verify_dealpilot(
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    secret: str,
    *,
    window: timedelta,
    now: float | None = None,
) -> None:
    if not signature or not timestamp:
        raise SignatureError("X-Dealpilot-Signature and X-Dealpilot-Timestamp are required")
    _fresh(parse_timestamp(timestamp), window, now)
    expected = "sha256=" + sign_dealpilot(body, timestamp.strip(), secret)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureError("signature does not match")


def sign_dealpilot(body: bytes, timestamp: str, secret: str) -> str:
    """The hex digest a sender puts after `sha256=` (for integrators and tests)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class TokenGuard:
    """Remembers Mailgun tokens for the replay window: a token seen with another message is a
    replayed signature (Mailgun signs timestamp+token, not the body) and is refused; the same
    message again is a duplicate delivery and passes (the event store drops it).

    Per process: with several API replicas a replay across replicas is still caught by the
    timestamp window and, for the same message, by the event store's dedupe key."""

    def __init__(self, window: timedelta, capacity: int = 50_000) -> None:
        self._window = window.total_seconds()
        self._capacity = capacity
        self._seen: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, token: str, fingerprint: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            while self._seen:
                oldest, (at, _fp) = next(iter(self._seen.items()))
                if now - at <= self._window and len(self._seen) < self._capacity:
                    break
                del self._seen[oldest]
            seen = self._seen.get(token)
            if seen is not None and seen[1] != fingerprint:
                raise SignatureError("token already used for another message")
            if seen is None:
                self._seen[token] = (now, fingerprint)
