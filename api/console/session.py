"""The console's session: a signed cookie (itsdangerous) holding the user id, the user's
session version, the CSRF token and the next page's flash messages. Nothing secret is in it
and nothing is stored server-side; the signature stops forgery, the max age bounds its life,
and a password change (a new session version) ends every older session.

ConsoleSessionMiddleware reads it for /console requests and writes it back when changed:
HttpOnly, SameSite=Lax, Path=/console, Secure in production."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dealpilot.core.settings import Settings

COOKIE = "dealpilot_console"
PREFIX = "/console"


@dataclass
class ConsoleSession:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    user_id: int | None = None
    version: int = 0
    flashes: list[tuple[str, str]] = field(default_factory=list)
    changed: bool = False

    def log_in(self, user_id: int, version: int) -> None:
        """A fresh token at login: one seen before it (a fixated session) is worthless."""
        self.csrf = secrets.token_urlsafe(32)
        self.user_id, self.version, self.changed = user_id, version, True

    def log_out(self) -> None:
        self.csrf = secrets.token_urlsafe(32)
        self.user_id, self.version, self.changed = None, 0, True

    def flash(self, message: str, kind: str = "info") -> None:
        self.flashes.append((kind, message))
        self.changed = True

    def take_flashes(self) -> list[tuple[str, str]]:
        shown, self.flashes = self.flashes, []
        if shown:
            self.changed = True
        return shown

    def dump(self) -> dict[str, Any]:
        return {"c": self.csrf, "u": self.user_id, "v": self.version, "f": self.flashes}

    @classmethod
    def load(cls, data: dict[str, Any]) -> ConsoleSession:
        return cls(
            csrf=str(data["c"]),
            user_id=data.get("u"),
            version=int(data.get("v") or 0),
            flashes=[(str(k), str(m)) for k, m in data.get("f") or []],
        )


class SessionCodec:
    def __init__(self, settings: Settings) -> None:
        self._serializer = URLSafeTimedSerializer(
            settings.session_secret.get_secret_value(), salt="dealpilot-console-session"
        )
        self.max_age = int(settings.console_session_max_age.total_seconds())
        self.secure = settings.environment == "production"

    def read(self, cookie: str | None) -> ConsoleSession:
        if cookie:
            try:
                data = self._serializer.loads(cookie, max_age=self.max_age)
                return ConsoleSession.load(data)
            except (BadSignature, KeyError, TypeError, ValueError):
                pass  # forged, expired or malformed: a new anonymous session
        return ConsoleSession(changed=True)

    def header(self, session: ConsoleSession) -> str:
        value = self._serializer.dumps(session.dump())
        parts = [
            f"{COOKIE}={value}",
            f"Path={PREFIX}",
            f"Max-Age={self.max_age}",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)


def current(conn: HTTPConnection) -> ConsoleSession:
    session: ConsoleSession = conn.scope["console_session"]
    return session


class ConsoleSessionMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.codec = SessionCodec(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        session = self.codec.read(HTTPConnection(scope).cookies.get(COOKIE))
        scope["console_session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if session.changed:
                    headers.append("Set-Cookie", self.codec.header(session))
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


# Scripts and styles only from the app itself (no inline script, no CDN): what an injected
# `<script>` could do is nothing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
