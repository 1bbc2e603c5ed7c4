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
from dealpilot.inbox.factory import imap_mailbox, mail_accounts
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


class AnySentFolder:
    """Several mailboxes (the brands' own): a Message-ID is unique, so found in one is sent;
    "not found" only when every folder was read and none holds it."""

    def __init__(self, folders: list[SentLookup]) -> None:
        self._folders = folders

    async def was_sent(self, message_id: str) -> SentAnswer:
        answers = [await folder.was_sent(message_id) for folder in self._folders]
        for verdict in (Verdict.found, Verdict.cannot_tell):
            hits = [a.where for a in answers if a.verdict == verdict]
            if hits:
                return SentAnswer(verdict, "; ".join(hits))
        return SentAnswer(Verdict.not_found, "; ".join(a.where for a in answers))


def build_sent_lookup(settings: Settings) -> SentLookup:
    """The Sent folder of each IMAP mailbox (IMAP_HOST, and each brand's own); else none."""
    folders: dict[str, SentLookup] = {}
    for _brand, account in mail_accounts(settings):
        if account.imap_host and account.imap_username and account.imap_password is not None:
            mailbox = imap_mailbox(account, account.imap_sent_folder)
            folders.setdefault(mailbox.key, ImapSentFolder(mailbox))
    if not folders:
        return NoSentLookup()
    if len(folders) == 1:
        return next(iter(folders.values()))
    return AnySentFolder(list(folders.values()))
