"""Zoho Mail REST provider: OAuth refresh-token flow per data centre, `POST .../messages`.

Zoho rejects unknown JSON keys (EXTRA_KEY_FOUND_IN_JSON), so only the documented keys go
out: no custom headers, no List-Unsubscribe, no Reply-To, no text part, and Zoho sets its
own Message-ID (returned as `mailId`, which we store). Use the smtp provider against Zoho's
SMTP server where those headers matter.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import httpx
import structlog
from pydantic import SecretStr

from dealpilot.mail._http import OwnedClient, json_body, status_error, transport_error
from dealpilot.mail.base import (
    MailError,
    OutgoingEmail,
    PermanentMailError,
    SendResult,
    TransientMailError,
    log_failure,
    log_sent,
)

log = structlog.get_logger(__name__)

PROVIDER = "zoho"
DATA_CENTRES = frozenset({"com", "eu", "in", "com.au", "jp"})
INVALID_TOKEN = "INVALID_OAUTHTOKEN"
# Token endpoint `error` values that mean our client or refresh token is wrong.
_BAD_CREDENTIALS = frozenset(
    {"invalid_code", "invalid_client", "invalid_client_secret", "unauthorized_client"}
)
# Zoho's answer when too many tokens were asked for (HTTP 400, "error": "Access Denied").
_TOKEN_THROTTLED = "Access Denied"
# Refresh this long before expiry, so a token never dies between fetch and use.
REFRESH_MARGIN_S = 300.0
# Zoho allows ~10 access tokens per refresh token per 10 minutes, shared by every worker:
# one process takes at most this many and then backs off (Temporal retries later).
MAX_REFRESHES_PER_WINDOW = 5
REFRESH_WINDOW_S = 600.0


def _strip(url: str) -> str:
    return url.rstrip("/")


class ZohoProvider:
    name = PROVIDER
    supports_custom_headers = False

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: SecretStr,
        refresh_token: SecretStr,
        account_id: str,
        data_centre: str = "com",
        accounts_url: str | None = None,
        mail_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if data_centre not in DATA_CENTRES:
            raise PermanentMailError(
                f"unknown Zoho data centre {data_centre!r}", code="config", provider=PROVIDER
            )
        self.client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.account_id = account_id
        accounts = _strip(accounts_url or f"https://accounts.zoho.{data_centre}")
        mail = _strip(mail_url or f"https://mail.zoho.{data_centre}")
        self.token_url = (
            accounts if accounts.endswith("/oauth/v2/token") else f"{accounts}/oauth/v2/token"
        )
        # Never the token response's api_domain: Mail calls go to mail.zoho.{dc}.
        self.messages_url = f"{mail}/api/accounts/{account_id}/messages"
        self._http = OwnedClient(http_client)
        self._token: SecretStr | None = None
        self._token_expires_at = 0.0
        self._lock = asyncio.Lock()
        self._refreshed_at: deque[float] = deque()

    def __repr__(self) -> str:
        return f"ZohoProvider(account_id={self.account_id!r}, token_url={self.token_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, email: OutgoingEmail) -> SendResult:
        payload = {
            "fromAddress": email.from_email,
            "toAddress": email.to_email,
            "subject": email.subject,
            "content": email.html,
            "mailFormat": "html",
            "encoding": "UTF-8",
        }
        if email.headers:
            log.debug("mail.headers_not_sent", provider=self.name, headers=sorted(email.headers))
        try:
            token = await self.access_token()
            response = await self._post(token, payload)
            if zoho_error_code(response) == INVALID_TOKEN:
                # Revoked or expired early: refresh once (unless another send already did).
                token = await self.access_token(stale=token)
                response = await self._post(token, payload)
            result = self._result(response)
        except MailError as exc:
            log_failure(email, exc)
            raise
        log_sent(email, result)
        return result

    async def access_token(self, *, stale: SecretStr | None = None) -> SecretStr:
        """The cached token, or a fresh one; `stale` is a token Zoho just refused."""
        async with self._lock:  # concurrent sends wait for one refresh instead of each doing one
            token = self._token
            if (
                token is not None
                and token is not stale
                and time.monotonic() < self._token_expires_at
            ):
                return token
            self._token = None
            token, lifetime = await self._refresh()
            self._token = token
            self._token_expires_at = time.monotonic() + max(
                lifetime - REFRESH_MARGIN_S, lifetime / 2
            )
            return token

    async def _refresh(self) -> tuple[SecretStr, float]:
        now = time.monotonic()
        while self._refreshed_at and now - self._refreshed_at[0] > REFRESH_WINDOW_S:
            self._refreshed_at.popleft()
        if len(self._refreshed_at) >= MAX_REFRESHES_PER_WINDOW:
            raise TransientMailError(
                "too many Zoho token refreshes in 10 minutes",
                code="token_rate_limited",
                provider=PROVIDER,
            )
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self._client_secret.get_secret_value(),
            "refresh_token": self._refresh_token.get_secret_value(),
        }
        try:
            # Form body, never the query string: URLs end up in logs and error messages.
            response = await self._http.client.post(self.token_url, data=form)
        except httpx.TransportError as exc:
            raise transport_error(exc, provider=PROVIDER, side_effects=False) from exc
        body = json_body(response)
        error = body.get("error")
        if isinstance(error, str):
            if error in _BAD_CREDENTIALS:
                raise PermanentMailError(
                    f"Zoho refused the refresh token ({error})",
                    code=error,
                    provider=PROVIDER,
                    status=response.status_code,
                )
            if error == _TOKEN_THROTTLED:
                raise TransientMailError(
                    "Zoho is throttling token requests",
                    code="token_rate_limited",
                    provider=PROVIDER,
                    status=response.status_code,
                )
            raise status_error(response.status_code, error, provider=PROVIDER)
        if response.is_error:
            raise status_error(response.status_code, "token_error", provider=PROVIDER)
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise TransientMailError(
                "Zoho token response had no access_token",
                code="token_bad_response",
                provider=PROVIDER,
            )
        self._refreshed_at.append(time.monotonic())
        expires_in = body.get("expires_in", 3600)
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        log.info("zoho.token_refreshed", expires_in=lifetime)
        return SecretStr(access_token), lifetime

    async def _post(self, token: SecretStr, payload: dict[str, Any]) -> httpx.Response:
        headers = {
            "Authorization": f"Zoho-oauthtoken {token.get_secret_value()}",
            "Accept": "application/json",
        }
        try:
            return await self._http.client.post(self.messages_url, json=payload, headers=headers)
        except httpx.TransportError as exc:
            raise transport_error(exc, provider=PROVIDER, side_effects=True) from exc

    def _result(self, response: httpx.Response) -> SendResult:
        body = json_body(response)
        if response.is_success:
            data = body.get("data")
            data = data if isinstance(data, dict) else {}
            mail_id, zoho_id = data.get("mailId"), data.get("messageId")
            if not mail_id:
                log.warning("zoho.no_mail_id", status=response.status_code)
            return SendResult(
                provider=PROVIDER,
                message_id=str(mail_id) if mail_id else None,
                provider_message_id=str(zoho_id) if zoho_id else None,
            )
        code = zoho_error_code(response)
        if code == INVALID_TOKEN:
            raise PermanentMailError(
                "Zoho refused a freshly refreshed token",
                code=INVALID_TOKEN,
                provider=PROVIDER,
                status=response.status_code,
            )
        if response.status_code in (401, 403):
            raise PermanentMailError(
                f"Zoho refused the request ({code or response.status_code})",
                code=code or "auth",
                provider=PROVIDER,
                status=response.status_code,
            )
        # 400 (bad address, rejected keys) → permanent; 429/5xx → transient; 504 → unknown.
        raise status_error(response.status_code, code, provider=PROVIDER)


def zoho_error_code(response: httpx.Response) -> str | None:
    """Zoho's `data.errorCode` of a failed response (e.g. INVALID_OAUTHTOKEN)."""
    if response.is_success:
        return None
    data = json_body(response).get("data")
    code = data.get("errorCode") if isinstance(data, dict) else None
    return code if isinstance(code, str) else None
