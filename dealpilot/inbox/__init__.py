"""Reply detection by polling mailboxes (IMAP, Zoho Mail API): messages become stored events
through the intake, then reach their deals."""

from dealpilot.inbox.classify import Kind, kind_of
from dealpilot.inbox.factory import build_sources, zoho_accounts
from dealpilot.inbox.imap import ImapInbox
from dealpilot.inbox.message import InboxMessage, parse_headers_and_body, parse_message
from dealpilot.inbox.poller import InboxPoller, dedupe_key, to_inbound
from dealpilot.inbox.sent import (
    ImapSentFolder,
    NoSentLookup,
    SentAnswer,
    SentLookup,
    SentQuery,
    Verdict,
    ZohoSentSearch,
    build_sent_lookup,
)
from dealpilot.inbox.source import Batch, Cursor, InboxError, InboxSource
from dealpilot.inbox.zoho import ZohoInbox, ZohoMailAccount

__all__ = [
    "Batch",
    "Cursor",
    "ImapInbox",
    "ImapSentFolder",
    "InboxError",
    "InboxMessage",
    "InboxPoller",
    "InboxSource",
    "Kind",
    "NoSentLookup",
    "SentAnswer",
    "SentLookup",
    "SentQuery",
    "Verdict",
    "ZohoInbox",
    "ZohoMailAccount",
    "ZohoSentSearch",
    "build_sent_lookup",
    "build_sources",
    "dedupe_key",
    "kind_of",
    "parse_headers_and_body",
    "parse_message",
    "zoho_accounts",
    "to_inbound",
]
