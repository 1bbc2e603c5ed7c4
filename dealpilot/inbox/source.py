"""The one interface both mailboxes implement, and the batch they hand the poller."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from dealpilot.core.errors import DealpilotError
from dealpilot.inbox.message import InboxMessage

Cursor = dict[str, Any]


class InboxError(DealpilotError):
    """The mailbox could not be read (login refused, folder missing, bad answer). Retryable:
    the next poll tries again."""

    status_code = 502
    code = "inbox_unavailable"
    retryable = True


@dataclass(frozen=True)
class Batch:
    """New messages, oldest first. `checkpoints[i]` is the cursor once messages[:i + 1] are
    handled; `cursor` the one after the whole batch (it may move on with no messages)."""

    messages: list[InboxMessage] = field(default_factory=list)
    checkpoints: list[Cursor] = field(default_factory=list)
    cursor: Cursor | None = None


class InboxSource(Protocol):
    @property
    def key(self) -> str:
        """Names this mailbox's cursor row (InboxCursor.source)."""
        ...

    @property
    def via(self) -> str:
        """imap | zoho, for the stored event's payload."""
        ...

    async def fetch(self, cursor: Cursor | None, *, since: datetime, limit: int) -> Batch:
        """Messages after `cursor` (or received since `since` on a first poll), at most `limit`."""
        ...
