"""SMTP provider: any server (Zoho's SMTP included), full header control, smtplib in a thread."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from typing import TYPE_CHECKING, Literal

import structlog
from pydantic import SecretStr

from dealpilot.mail.base import (
    MailError,
    OutcomeUnknownMailError,
    OutgoingEmail,
    PermanentMailError,
    SendResult,
    TransientMailError,
    log_failure,
    log_sent,
)
from dealpilot.mail.mime import build_message

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = structlog.get_logger(__name__)

PROVIDER = "smtp"
Security = Literal["starttls", "ssl", "none"]


class _TrackedSMTP(smtplib.SMTP):
    """Remembers whether the message content (ending in CRLF.CRLF) went out in full.

    After that point the server may queue the mail even if we never read its reply,
    so a lost connection means "outcome unknown", not "try again".
    """

    content_sent = False

    def send(self, s: ReadableBuffer | str) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.content_sent = True


class _TrackedSMTPSSL(smtplib.SMTP_SSL):
    content_sent = False

    def send(self, s: ReadableBuffer | str) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.content_sent = True


def _server_text(exc: smtplib.SMTPResponseException) -> str:
    raw = exc.smtp_error
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return text[:200]


def _by_reply_code(reply: int, message: str, *, code: str) -> MailError:
    cls = PermanentMailError if reply >= 500 else TransientMailError
    return cls(message, code=code, provider=PROVIDER, status=reply)


def classify_smtp_error(exc: BaseException, *, content_sent: bool) -> MailError | None:
    """Map an smtplib/socket failure to our error classes; None for anything unexpected."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = [reply for reply, _ in exc.recipients.values()] or [550]
        reply = max(replies)
        return _by_reply_code(reply, f"recipient refused ({reply})", code="recipient_refused")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _by_reply_code(
            exc.smtp_code, f"sender refused: {_server_text(exc)}", code="sender_refused"
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # The server's text is left out on purpose: it can echo what we sent.
        return _by_reply_code(exc.smtp_code, "SMTP authentication failed", code="auth")
    if isinstance(exc, smtplib.SMTPDataError):
        return _by_reply_code(
            exc.smtp_code, f"message rejected: {_server_text(exc)}", code="rejected"
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_reply_code(exc.smtp_code, f"SMTP error: {_server_text(exc)}", code="smtp_error")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentMailError(str(exc), code="not_supported", provider=PROVIDER)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentMailError(
            "TLS certificate verification failed", code="tls_verify", provider=PROVIDER
        )
    if isinstance(exc, UnicodeEncodeError):
        return PermanentMailError(
            "address or header needs SMTPUTF8", code="encoding", provider=PROVIDER
        )
    if isinstance(exc, OSError):  # SMTPServerDisconnected, timeouts, refused, TLS failures
        if content_sent:
            return OutcomeUnknownMailError(
                "connection lost after the message was sent", code="after_data", provider=PROVIDER
            )
        # smtplib turns a read timeout into SMTPServerDisconnected; the timeout is its context.
        timed_out = any(isinstance(e, TimeoutError) for e in (exc, exc.__context__))
        code = "timeout" if timed_out else "connection"
        return TransientMailError(
            f"SMTP {code} error: {type(exc).__name__}", code=code, provider=PROVIDER
        )
    if content_sent:
        return OutcomeUnknownMailError(
            f"unexpected {type(exc).__name__} after the message was sent",
            code="after_data",
            provider=PROVIDER,
        )
    return None


class SmtpProvider:
    name = PROVIDER
    supports_custom_headers = True

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: Security = "starttls",
        username: str | None = None,
        password: SecretStr | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        name: str = PROVIDER,
    ) -> None:
        self.name = name  # "zoho_smtp" for Zoho's SMTP servers: the ledger says which
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return (
            f"SmtpProvider(name={self.name!r}, host={self.host!r}, port={self.port!r}, "
            f"security={self.security!r}, username={self.username!r})"
        )

    async def send(self, email: OutgoingEmail) -> SendResult:
        msg = build_message(email, provider=self.name)
        try:
            await asyncio.to_thread(self._deliver, msg, email.from_email, email.to_email)
        except MailError as exc:
            log_failure(email, exc)
            raise
        result = SendResult(provider=self.name, message_id=email.message_id)
        log_sent(email, result)
        return result

    async def aclose(self) -> None:
        return None

    def _connect(self, helo: str) -> _TrackedSMTP | _TrackedSMTPSSL:
        # Host in the constructor, not connect(): smtplib takes the TLS server name from it.
        if self.security == "ssl":
            return _TrackedSMTPSSL(
                self.host,
                self.port,
                local_hostname=helo,
                timeout=self.timeout,
                context=self._context(),
            )
        return _TrackedSMTP(self.host, self.port, local_hostname=helo, timeout=self.timeout)

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _deliver(self, msg: EmailMessage, sender: str, recipient: str) -> None:
        conn: _TrackedSMTP | _TrackedSMTPSSL | None = None
        delivered = False
        try:
            conn = self._connect(_helo_name(sender))
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=self._context())
                conn.ehlo()
            if self.username:
                secret = self._password.get_secret_value() if self._password else ""
                conn.login(self.username, secret)
            conn.send_message(msg, from_addr=sender, to_addrs=[recipient])
            delivered = True
        except Exception as exc:
            sent = conn is not None and conn.content_sent
            mapped = classify_smtp_error(exc, content_sent=sent)
            if mapped is None:
                raise
            raise mapped from exc
        finally:
            if conn is not None:
                _close_quietly(conn, polite=delivered)


def _close_quietly(conn: smtplib.SMTP, *, polite: bool) -> None:
    # The message is accepted (or the send already failed): a failing QUIT changes nothing.
    try:
        if polite:
            conn.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        conn.close()


def _helo_name(sender: str) -> str:
    # Passing a name stops smtplib from calling socket.getfqdn(), which can block on DNS.
    domain = sender.rpartition("@")[2]
    try:
        return domain.encode("idna").decode("ascii") if domain else "localhost"
    except UnicodeError:
        return "localhost"
