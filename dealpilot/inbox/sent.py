"""Was the message with this Message-ID sent? Asked of the mailbox's Sent folder when a send's
outcome is unknown (a worker died mid-send, the provider's answer was lost).

The answer is found, not found, or cannot tell (no mailbox to ask, or the mailbox could not be
read). Only "not found" from a mailbox that was read allows a send to go out again.
"""

from __future__ import annotations

import imaplib
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import structlog

from dealpilot.core.settings import Settings
from dealpilot.inbox.factory import imap_mailbox
from dealpilot.inbox.imap import ImapInbox
from dealpilot.inbox.source import InboxError

log = structlog.get_logger(__name__)


class Verdict(StrEnum):
    found = "found"
    not_found = "not_found"
    cannot_tell = "cannot_tell"


@dataclass(frozen=True)
class SentAnswer:
    verdict: Verdict
    where: str  # the folder asked, or why none could be, for the ledger's words


class SentLookup(Protocol):
    async def was_sent(self, message_id: str) -> SentAnswer: ...


class NoSentLookup:
    """No mailbox configured: every answer is "cannot tell"."""

    async def was_sent(self, message_id: str) -> SentAnswer:
        return SentAnswer(Verdict.cannot_tell, "no Sent folder configured")


class ImapSentFolder:
    """Searches one IMAP folder (`HEADER Message-ID`), reusing the inbox's connection handling."""

    def __init__(self, mailbox: ImapInbox) -> None:
        self._mailbox = mailbox

    @property
    def where(self) -> str:
        return f"IMAP folder {self._mailbox.folder!r}"

    async def was_sent(self, message_id: str) -> SentAnswer:
        if not message_id.strip():
            return SentAnswer(Verdict.cannot_tell, "no Message-ID to look up")
        try:
            held = await self._mailbox.holds_message_id(message_id)
        except (InboxError, OSError, imaplib.IMAP4.error) as exc:
            log.warning("sent_lookup.failed", mailbox=repr(self._mailbox), error=str(exc))
            return SentAnswer(Verdict.cannot_tell, f"{self.where} unreadable ({exc})")
        return SentAnswer(Verdict.found if held else Verdict.not_found, self.where)


def build_sent_lookup(settings: Settings) -> SentLookup:
    """The Sent folder of the IMAP mailbox when IMAP_HOST is set; otherwise none."""
    if not settings.imap_host or not settings.imap_username or settings.imap_password is None:
        return NoSentLookup()
    return ImapSentFolder(imap_mailbox(settings, settings.imap_sent_folder))
