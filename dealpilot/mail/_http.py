"""Shared plumbing for the REST providers: the HTTP client they own and error mapping."""

from __future__ import annotations

from typing import Any

import httpx

from dealpilot.mail.base import (
    MailError,
    OutcomeUnknownMailError,
    PermanentMailError,
    TransientMailError,
)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class OwnedClient:
    """Uses the injected client, or creates one and closes it on `aclose`."""

    def __init__(self, client: httpx.AsyncClient | None) -> None:
        self._owned = client is None
        # No client-side retries: Temporal owns retries.
        self.client = client or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()


def transport_error(exc: httpx.TransportError, *, provider: str, side_effects: bool) -> MailError:
    """Map a transport failure. `side_effects`: the request, once received, sends mail."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return TransientMailError("connect timeout", code="timeout", provider=provider)
    if isinstance(exc, httpx.ConnectError):
        return TransientMailError("cannot connect", code="connection", provider=provider)
    if isinstance(exc, httpx.WriteTimeout | httpx.WriteError):
        # The request never reached the server in full, so it cannot have acted on it.
        return TransientMailError("request not sent in full", code="connection", provider=provider)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return PermanentMailError(
            f"bad request set-up: {type(exc).__name__}", code="config", provider=provider
        )
    # Read timeouts, dropped connections, protocol errors: the request went out in full.
    code = "timeout" if isinstance(exc, httpx.TimeoutException) else "no_response"
    if side_effects:
        return OutcomeUnknownMailError(
            f"no answer after the request was sent ({type(exc).__name__})",
            code=code,
            provider=provider,
        )
    return TransientMailError(f"no answer ({type(exc).__name__})", code=code, provider=provider)


def status_error(
    status: int, code: str | None, *, provider: str, sub_code: str | None = None
) -> MailError:
    """Fallback mapping by HTTP status when the body names no code we know."""
    label = code or f"http_{status}"
    message = f"{provider} answered HTTP {status} ({label})"
    if status == 504:
        # A gateway gave up waiting for the backend, which may still have sent the mail.
        return OutcomeUnknownMailError(
            message, code=label, provider=provider, status=status, sub_code=sub_code
        )
    if status == 429 or status >= 500:
        return TransientMailError(
            message, code=label, provider=provider, status=status, sub_code=sub_code
        )
    return PermanentMailError(
        message, code=label, provider=provider, status=status, sub_code=sub_code
    )


def json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
