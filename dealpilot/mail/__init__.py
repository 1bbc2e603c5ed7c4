"""Mail providers behind one interface: outbox (dev), smtp, zoho (REST), zeptomail (REST)."""

from dealpilot.mail.base import (
    MailError,
    MailProvider,
    OutcomeUnknownMailError,
    OutgoingEmail,
    PermanentMailError,
    SendResult,
    TransientMailError,
)
from dealpilot.mail.factory import build_provider

__all__ = [
    "MailError",
    "MailProvider",
    "OutcomeUnknownMailError",
    "OutgoingEmail",
    "PermanentMailError",
    "SendResult",
    "TransientMailError",
    "build_provider",
]
