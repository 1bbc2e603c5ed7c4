"""Was this email sent? Asked when a send's outcome is unknown (a worker died mid-send, the
provider's answer was lost), of the place the provider files what it sent:
- SMTP (and any provider that keeps our Message-ID): the mailbox's Sent folder over IMAP,
  searched for the Message-ID;
- Zoho Mail REST, which sets its own Message-ID: Zoho's search, for an email to the same
  address with the same subject, sent at or after the send was claimed.

The answer is found, not found, or cannot tell (no mailbox to ask, or it could not be read).
Only "not found" from a mailbox that was read allows a send to go out again.
"""

from __future__ import annotations

import html
import imaplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import structlog

from dealpilot.core.settings import Settings
from dealpilot.inbox.factory import imap_mailbox, mail_accounts
from dealpilot.inbox.imap import ImapInbox
from dealpilot.inbox.source import InboxError
from dealpilot.inbox.zoho import ZohoMailAccount

log = structlog.get_logger(__name__)

# A Zoho copy stamped this much before the claim still counts (clocks of two machines).
CLOCK_SKEW = timedelta(minutes=5)


class Verdict(StrEnum):
    found = "found"
    not_found = "not_found"
    cannot_tell = "cannot_tell"


@dataclass(frozen=True)
class SentAnswer:
    verdict: Verdict
    where: str  # the folder asked, or why none could be, for the ledger's words


@dataclass(frozen=True)
class SentQuery:
    """What the ledger knows of the send: our Message-ID, its recipient and subject, when it
    was claimed, and the provider it went to."""

    message_id: str | None
    to_email: str = ""
    subject: str = ""
    claimed_at: datetime | None = None
    provider: str = "smtp"


class SentLookup(Protocol):
    async def was_sent(self, query: SentQuery) -> SentAnswer: ...


class NoSentLookup:
    """Nowhere to look: every answer is "cannot tell", with the reason."""

    def __init__(self, reason: str = "no Sent folder configured") -> None:
        self._reason = reason

    async def was_sent(self, query: SentQuery) -> SentAnswer:
        return SentAnswer(Verdict.cannot_tell, self._reason)


class ImapSentFolder:
    """Searches one IMAP folder (`HEADER Message-ID`), reusing the inbox's connection handling."""

    def __init__(self, mailbox: ImapInbox) -> None:
        self._mailbox = mailbox

    @property
    def where(self) -> str:
        return f"IMAP folder {self._mailbox.folder!r}"

    async def was_sent(self, query: SentQuery) -> SentAnswer:
        message_id = query.message_id or ""
        if not message_id.strip():
            return SentAnswer(Verdict.cannot_tell, "no Message-ID to look up")
        try:
            held = await self._mailbox.holds_message_id(message_id)
        except (InboxError, OSError, imaplib.IMAP4.error) as exc:
            log.warning("sent_lookup.failed", mailbox=repr(self._mailbox), error=str(exc))
            return SentAnswer(Verdict.cannot_tell, f"{self.where} unreadable ({exc})")
        return SentAnswer(Verdict.found if held else Verdict.not_found, self.where)


class ZohoSentSearch:
    """Zoho Mail's search: an email to the recipient with the subject, stamped no earlier than
    the claim (less `CLOCK_SKEW`). Zoho's search keys have no Message-ID, and REST sends
    carry Zoho's own, so these three facts are what identifies the email."""

    where = "Zoho Mail search"

    def __init__(self, account: ZohoMailAccount) -> None:
        self._account = account

    async def was_sent(self, query: SentQuery) -> SentAnswer:
        if not query.to_email or not query.subject:
            return SentAnswer(Verdict.cannot_tell, "no recipient or subject to search Zoho for")
        phrase = " ".join(query.subject.replace('"', " ").split())
        try:
            items = await self._account.search(f'to:{query.to_email}::subject:"{phrase}"')
        except InboxError as exc:
            log.warning("sent_lookup.failed", mailbox="zoho", error=str(exc))
            return SentAnswer(Verdict.cannot_tell, f"{self.where} unavailable ({exc})")
        found = any(_is_the_send(item, query) for item in items)
        return SentAnswer(Verdict.found if found else Verdict.not_found, self.where)


def _is_the_send(item: dict[str, Any], query: SentQuery) -> bool:
    subject = html.unescape(str(item.get("subject", ""))).strip()
    recipients = html.unescape(str(item.get("toAddress", ""))).lower()
    if subject != query.subject.strip() or query.to_email.lower() not in recipients:
        return False
    if query.claimed_at is None:
        return True
    stamp = item.get("sentDateInGMT") or item.get("receivedTime")
    try:
        sent_ms = int(str(stamp))
    except ValueError:
        return False
    return sent_ms >= (query.claimed_at - CLOCK_SKEW).timestamp() * 1000


class SentFolders:
    """Asks the place that knows for the send's provider: `by_provider[provider]`, else
    `default` (the IMAP Sent folder)."""

    def __init__(self, default: SentLookup, by_provider: Mapping[str, SentLookup]) -> None:
        self._default = default
        self._by_provider = dict(by_provider)

    @property
    def default(self) -> SentLookup:
        return self._default

    async def was_sent(self, query: SentQuery) -> SentAnswer:
        return await self._by_provider.get(query.provider, self._default).was_sent(query)


class AnySentFolder:
    """Several places (the brands' own mailboxes): found in one is sent; "not found" only when
    every one was read and none holds it."""

    def __init__(self, folders: list[SentLookup]) -> None:
        self._folders = folders

    async def was_sent(self, query: SentQuery) -> SentAnswer:
        answers = [await folder.was_sent(query) for folder in self._folders]
        for verdict in (Verdict.found, Verdict.cannot_tell):
            hits = [a.where for a in answers if a.verdict == verdict]
            if hits:
                return SentAnswer(verdict, "; ".join(hits))
        return SentAnswer(Verdict.not_found, "; ".join(a.where for a in answers))


def _one_or_any(lookups: list[SentLookup], none: SentLookup) -> SentLookup:
    if not lookups:
        return none
    return lookups[0] if len(lookups) == 1 else AnySentFolder(lookups)


def build_sent_lookup(settings: Settings, zoho: Sequence[ZohoMailAccount] = ()) -> SentFolders:
    """The Sent folder of each IMAP mailbox (IMAP_HOST, and each brand's own) for the
    providers that keep our Message-ID; Zoho's search in each `zoho` account for Zoho REST
    sends. A Zoho REST send is never looked up by Message-ID in IMAP: it carries Zoho's, so
    "not found" there would be wrong."""
    folders: dict[str, SentLookup] = {}
    for _brand, account in mail_accounts(settings):
        if account.imap_host and account.imap_username and account.imap_password is not None:
            mailbox = imap_mailbox(account, account.imap_sent_folder)
            folders.setdefault(mailbox.key, ImapSentFolder(mailbox))
    default = _one_or_any(list(folders.values()), NoSentLookup())
    zoho_lookup = _one_or_any(
        [ZohoSentSearch(account) for account in zoho],
        NoSentLookup("Zoho sets its own Message-ID and the zoho provider is not configured"),
    )
    return SentFolders(default, {"zoho": zoho_lookup})
