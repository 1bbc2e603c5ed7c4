"""ZeptoMail provider: `POST /v1.1/email` with a `Zoho-enczapikey` send-mail token.

ZeptoMail returns no Message-ID and does not document overriding it, so our Message-ID is
not sent; the send is correlated by `request_id` and by our `client_reference` (which
ZeptoMail echoes in its webhooks). Our own headers (List-Unsubscribe, ...) go in
`mime_headers`. Open/click tracking is off: we track ourselves.

Error mapping, by the `error.code` (and `details[].code` sub-code) in the body:
- TM_3201 / TM_3301 (bad request), TM_4001 (unverified sender domain, bad token, invalid
  address, account not reviewed), TM_8001 (size limits) → permanent.
- TM_3501 (credits expired, bad template/file key) and TM_5001 (credits exhausted) →
  permanent: someone has to fix the account; retrying only burns attempts.
- TM_3601 (limits): SMI_115 "per day limit exhausted" and unknown sub-codes → transient,
  the limit resets; SERR_156 (IP not allowed), SM_133 (trial limit), AE_101 (account
  blocked) → permanent, they need a person.
- anything else → by HTTP status (429/5xx transient, 504 outcome unknown, other 4xx permanent).
"""

from __future__ import annotations

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
from dealpilot.mail.mime import validate_headers

log = structlog.get_logger(__name__)

PROVIDER = "zeptomail"
SEND_PATH = "/v1.1/email"
PERMANENT_CODES = frozenset({"TM_3201", "TM_3301", "TM_3501", "TM_4001", "TM_5001", "TM_8001"})
LIMIT_CODE = "TM_3601"
PERMANENT_LIMIT_SUB_CODES = frozenset({"SERR_156", "SM_133", "AE_101"})


class ZeptoMailProvider:
    name = PROVIDER
    supports_custom_headers = True

    def __init__(
        self,
        *,
        token: SecretStr,
        region: str = "com",
        url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._token = token
        base = (url or f"https://api.zeptomail.{region}").rstrip("/")
        self.url = base if base.endswith(SEND_PATH) else f"{base}{SEND_PATH}"
        self._http = OwnedClient(http_client)

    def __repr__(self) -> str:
        return f"ZeptoMailProvider(url={self.url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, email: OutgoingEmail) -> SendResult:
        try:
            validate_headers(email.headers, provider=self.name)
            result = self._result(await self._post(build_payload(email)))
        except MailError as exc:
            log_failure(email, exc)
            raise
        log_sent(email, result)
        return result

    async def _post(self, payload: dict[str, Any]) -> httpx.Response:
        headers = {
            "Authorization": f"Zoho-enczapikey {self._token.get_secret_value()}",
            "Accept": "application/json",
        }
        try:
            return await self._http.client.post(self.url, json=payload, headers=headers)
        except httpx.TransportError as exc:
            raise transport_error(exc, provider=PROVIDER, side_effects=True) from exc

    def _result(self, response: httpx.Response) -> SendResult:
        body = json_body(response)
        if response.is_success:
            request_id = body.get("request_id")
            if not request_id:
                log.warning("zeptomail.no_request_id", status=response.status_code)
            return SendResult(
                provider=PROVIDER,
                message_id=None,
                provider_request_id=str(request_id) if request_id else None,
            )
        raise classify_error(response.status_code, body)


def _party(address: str, name: str) -> dict[str, str]:
    return {"address": address, "name": name} if name else {"address": address}


def build_payload(email: OutgoingEmail) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "from": _party(email.from_email, email.from_name),
        "to": [{"email_address": _party(email.to_email, email.to_name)}],
        "subject": email.subject,
        "htmlbody": email.html,
        "textbody": email.text,
        "track_opens": False,
        "track_clicks": False,
    }
    if email.reply_to:
        payload["reply_to"] = [{"address": email.reply_to}]
    if email.client_reference:
        payload["client_reference"] = email.client_reference
    if email.headers:
        payload["mime_headers"] = dict(email.headers)
    return payload


def classify_error(status: int, body: dict[str, Any]) -> MailError:
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    details = error.get("details")
    first = details[0] if isinstance(details, list) and details else {}
    sub_code = first.get("code") if isinstance(first, dict) else None
    if not isinstance(sub_code, str):
        sub_code = error.get("sub_code") if isinstance(error.get("sub_code"), str) else None
    message = f"ZeptoMail refused the email ({code}/{sub_code}, HTTP {status})"
    if code is not None and code in PERMANENT_CODES:
        return PermanentMailError(
            message, code=code, provider=PROVIDER, status=status, sub_code=sub_code
        )
    if code == LIMIT_CODE:
        cls = PermanentMailError if sub_code in PERMANENT_LIMIT_SUB_CODES else TransientMailError
        return cls(message, code=code, provider=PROVIDER, status=status, sub_code=sub_code)
    return status_error(status, code, provider=PROVIDER, sub_code=sub_code)
