"""IMAP inbox (stdlib imaplib in a thread): SSL or STARTTLS, read-only, UID cursor.

The cursor is (UIDVALIDITY, last UID handled). A changed UIDVALIDITY means the server
renumbered the folder: the poll starts again from the look-back date, and the stored events'
dedupe keys (Message-IDs) keep anything from being handled twice.
"""

from __future__ import annotations

import asyncio
import imaplib
import re
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import structlog
from pydantic import SecretStr

from dealpilot.inbox.message import InboxMessage, parse_message
from dealpilot.inbox.source import Batch, Cursor, InboxError

log = structlog.get_logger(__name__)
T = TypeVar("T")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
# Replies are small; a message larger than this is fetched in part (headers and the start).
MAX_FETCH_BYTES = 1_000_000


def imap_date(when: datetime) -> str:
    """RFC 3501 date ("21-Nov-2026"), independent of the process locale."""
    return f"{when.day:02d}-{_MONTHS[when.month - 1]}-{when.year}"


def _internaldate(meta: bytes) -> datetime | None:
    found = _INTERNALDATE.search(meta)
    if found is None:
        return None
    day, mon, rest = found.group(1).decode().strip().split("-", 2)
    try:
        parsed = datetime.strptime(
            f"{int(day):02d} {_MONTHS.index(mon) + 1:02d} {rest}", "%d %m %Y %H:%M:%S %z"
        )
    except ValueError:
        return None
    return parsed.astimezone(UTC)


class ImapInbox:
    via = "imap"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        password: SecretStr,
        security: str = "ssl",
        folder: str = "INBOX",
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.username = host, port, username
        self._password = password
        self.security = security
        self.folder = folder
        self.timeout = timeout
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return f"ImapInbox({self.username}@{self.host}:{self.port}/{self.folder})"

    @property
    def key(self) -> str:
        return f"imap:{self.username}@{self.host}:{self.port}/{self.folder}"

    async def fetch(self, cursor: Cursor | None, *, since: datetime, limit: int) -> Batch:
        return await asyncio.to_thread(self._fetch, cursor, since, limit)

    async def holds_message_id(self, message_id: str) -> bool:
        """Whether this folder holds a message whose Message-ID header is `message_id`."""
        return await asyncio.to_thread(self._session, lambda conn: self._holds(conn, message_id))

    # ---------------------------------------------------------------- blocking
    def _connect(self) -> imaplib.IMAP4:
        context = self._ssl_context or ssl.create_default_context()
        try:
            if self.security == "ssl":
                return imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=context, timeout=self.timeout
                )
            conn = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                conn.starttls(context)
            return conn
        except (OSError, imaplib.IMAP4.error) as exc:
            raise InboxError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc

    def _fetch(self, cursor: Cursor | None, since: datetime, limit: int) -> Batch:
        return self._session(lambda conn: self._read(conn, cursor, since, limit))

    def _session(self, work: Callable[[imaplib.IMAP4], T]) -> T:
        """Connects, logs in, runs `work`, logs out."""
        conn = self._connect()
        try:
            try:
                conn.login(self.username, self._password.get_secret_value())
            except imaplib.IMAP4.error as exc:
                raise InboxError(f"IMAP login refused for {self.username}") from exc
            return work(conn)
        finally:
            try:
                conn.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

    def _holds(self, conn: imaplib.IMAP4, message_id: str) -> bool:
        typ, _ = conn.select(_quote(self.folder), readonly=True)
        if typ != "OK":
            raise InboxError(f"IMAP folder {self.folder!r} cannot be opened")
        typ, data = conn.uid("SEARCH", "HEADER", "Message-ID", _quote(message_id))
        if typ != "OK":
            raise InboxError(f"IMAP search failed in {self.folder!r}")
        return bool((data[0] or b"").split())

    def _read(
        self, conn: imaplib.IMAP4, cursor: Cursor | None, since: datetime, limit: int
    ) -> Batch:
        typ, _ = conn.select(_quote(self.folder), readonly=True)
        if typ != "OK":
            raise InboxError(f"IMAP folder {self.folder!r} cannot be opened")
        uidvalidity = _number(conn.response("UIDVALIDITY")[1])
        uidnext = _number(conn.response("UIDNEXT")[1])
        if cursor is not None and cursor.get("uidvalidity") != uidvalidity:
            log.warning("inbox.uidvalidity_changed", mailbox=self.key)
            cursor = None
        last = int(cursor["last_uid"]) if cursor is not None else 0
        if cursor is not None:
            typ, data = conn.uid("SEARCH", f"UID {last + 1}:*")
        else:
            typ, data = conn.uid("SEARCH", "SINCE", imap_date(since))
        if typ != "OK":
            raise InboxError(f"IMAP search failed in {self.folder!r}")
        # "n:*" always includes the highest UID, even below n: keep only what is new.
        uids = sorted(u for u in (int(x) for x in (data[0] or b"").split()) if u > last)
        chosen = uids[:limit]
        messages = self._messages(conn, chosen)
        checkpoints = [{"uidvalidity": uidvalidity, "last_uid": int(m.ref)} for m in messages]
        if len(chosen) == len(uids) and uidnext:
            # Everything found was taken: the next poll can start at UIDNEXT.
            end = max(last, uidnext - 1, *(int(m.ref) for m in messages))
        else:
            end = int(messages[-1].ref) if messages else last
        return Batch(messages, checkpoints, {"uidvalidity": uidvalidity, "last_uid": end})

    def _messages(self, conn: imaplib.IMAP4, uids: list[int]) -> list[InboxMessage]:
        if not uids:
            return []
        spec = ",".join(str(u) for u in uids)
        typ, data = conn.uid("FETCH", spec, f"(UID INTERNALDATE BODY.PEEK[]<0.{MAX_FETCH_BYTES}>)")
        if typ != "OK":
            raise InboxError(f"IMAP fetch failed in {self.folder!r}")
        found: dict[int, InboxMessage] = {}
        for item in data:
            if not isinstance(item, tuple) or len(item) < 2:
                continue
            meta, raw = item[0], item[1]
            uid = _UID.search(meta)
            if uid is None or not isinstance(raw, bytes):
                continue
            number = int(uid.group(1))
            found[number] = parse_message(raw, ref=str(number), received_at=_internaldate(meta))
        # A message expunged between SEARCH and FETCH is simply gone.
        return [found[u] for u in uids if u in found]


def _number(values: list[bytes | None] | None) -> int:
    for value in values or []:
        if value:
            try:
                return int(value)
            except ValueError:
                continue
    return 0


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
