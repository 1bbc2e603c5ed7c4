"""Reply detection by polling mailboxes (IMAP, Zoho Mail API): messages become stored events
through the intake, then reach their deals."""

from activities.inbox.classify import Kind, kind_of
from activities.inbox.factory import build_sources
from activities.inbox.imap import ImapInbox
from activities.inbox.message import InboxMessage, parse_headers_and_body, parse_message
from activities.inbox.poller import InboxActivities, InboxPoller, dedupe_key, to_inbound
from activities.inbox.source import Batch, Cursor, InboxError, InboxSource
from activities.inbox.zoho import ZohoInbox

__all__ = [
    "Batch",
    "Cursor",
    "ImapInbox",
    "InboxActivities",
    "InboxError",
    "InboxMessage",
    "InboxPoller",
    "InboxSource",
    "Kind",
    "ZohoInbox",
    "build_sources",
    "dedupe_key",
    "kind_of",
    "parse_headers_and_body",
    "parse_message",
    "to_inbound",
]
