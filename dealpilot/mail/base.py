"""The one mail interface every provider implements, and the errors it raises.

The caller (the send activity) branches on the error *class*:
- `PermanentMailError`: never retry; tell the deal (bad address, rejected content, broken config).
- `TransientMailError`: let Temporal retry with backoff.
- `OutcomeUnknownMailError` (a `TransientMailError`): the provider may have accepted the
  message; flag the send for review instead of sending again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import structlog

from dealpilot.core import metrics
from dealpilot.core.errors import DealpilotError

_log = structlog.get_logger("dealpilot.mail")


@dataclass(frozen=True)
class OutgoingEmail:
    from_email: str
    from_name: str
    to_email: str
    to_name: str
    subject: str
    html: str
    text: str
    # RFC 5322 Message-ID generated before sending, angle brackets included.
    message_id: str
    reply_to: str | None = None
    # List-Unsubscribe, List-Unsubscribe-Post, X-Dealpilot-Deal, ...: only sent by
    # providers whose `supports_custom_headers` is true.
    headers: Mapping[str, str] = field(default_factory=dict)
    # Our idempotency key, e.g. "deal-12:step-2".
    client_reference: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider: str
    # The RFC Message-ID as it went out (Zoho: its mailId); None when the provider
    # does not tell us (ZeptoMail: correlate by request_id / client_reference).
    message_id: str | None
    provider_message_id: str | None = None  # Zoho's messageId
    provider_request_id: str | None = None  # ZeptoMail's request_id


class MailProvider(Protocol):
    name: str
    supports_custom_headers: bool

    async def send(self, email: OutgoingEmail) -> SendResult: ...

    async def aclose(self) -> None: ...


class MailError(DealpilotError):
    """A send failed. `code` is a stable machine-readable reason; messages never hold secrets.
    Where it reaches the API it is a 502: the provider, not the request, failed."""

    status_code = 502
    retryable = False
    outcome_unknown: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: str,
        provider: str,
        status: int | None = None,
        sub_code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.provider = provider
        self.status = status
        self.sub_code = sub_code

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the keyword-only fields when pickled (e.g. across a process pool).
        return (
            _rebuild,
            (type(self), str(self), self.code, self.provider, self.status, self.sub_code),
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self)!r}, code={self.code!r}, provider={self.provider!r}"
            f", status={self.status!r}, sub_code={self.sub_code!r})"
        )


def _rebuild(
    cls: type[MailError],
    message: str,
    code: str,
    provider: str,
    status: int | None,
    sub_code: str | None,
) -> MailError:
    return cls(message, code=code, provider=provider, status=status, sub_code=sub_code)


class PermanentMailError(MailError):
    """Retrying cannot help: bad address, unverified sender, auth or config, rejected content."""


class TransientMailError(MailError):
    """Server errors, timeouts, connection failures, rate limits: retry with backoff."""

    retryable = True


class OutcomeUnknownMailError(TransientMailError):
    """The request was fully sent but no answer came back: the mail may have gone out.

    Do not resend blindly; flag the send for review.
    """

    outcome_unknown = True


def log_failure(email: OutgoingEmail, exc: MailError) -> None:
    """One shape for every provider's failed send (the caller binds deal and ledger ids)."""
    metrics.record_email_failed(exc.provider, exc.code)
    _log.warning(
        "mail.send_failed",
        provider=exc.provider,
        code=exc.code,
        sub_code=exc.sub_code,
        status=exc.status,
        outcome_unknown=exc.outcome_unknown,
        message_id=email.message_id,
        client_reference=email.client_reference,
    )


def log_sent(email: OutgoingEmail, result: SendResult) -> None:
    metrics.record_email_sent(result.provider)
    _log.info(
        "mail.sent",
        provider=result.provider,
        message_id=result.message_id or email.message_id,
        provider_message_id=result.provider_message_id,
        request_id=result.provider_request_id,
        client_reference=email.client_reference,
    )
