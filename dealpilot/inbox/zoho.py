"""Zoho Mail API inbox: list a folder newest first, then each new message's headers and content;
and the account's search, where a send of unknown outcome is looked for (`inbox.sent`).

    GET {mail}/api/accounts/{accountId}/messages/view?folderId=&start=&limit=
    GET {mail}/api/accounts/{accountId}/messages/search?searchKey=&limit=&includeto=true
    GET {mail}/api/accounts/{accountId}/folders/{folderId}/messages/{messageId}/header
    GET {mail}/api/accounts/{accountId}/folders/{folderId}/messages/{messageId}/content

The access token comes from the zoho mail provider's cache (one refresh token, one cache per
process: Zoho allows ~10 tokens per refresh token per 10 minutes). The cursor is the newest
`receivedTime` handled, plus the ids handled at that very millisecond.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from pydantic import SecretStr

from dealpilot.inbox.message import InboxMessage, parse_headers_and_body
from dealpilot.inbox.source import Batch, Cursor, InboxError
from dealpilot.mail._http import DEFAULT_TIMEOUT, json_body
from dealpilot.mail.zoho import INVALID_TOKEN, zoho_error_code

log = structlog.get_logger(__name__)

PAGE = 200  # Zoho's maximum `limit`
MAX_PAGES = 10

TokenSource = Callable[[SecretStr | None], Awaitable[SecretStr]]


class ZohoMailAccount:
    """Authorised GETs against one Zoho Mail account (`{mail}/api/accounts/{accountId}`)."""

    def __init__(
        self,
        *,
        mail_url: str,
        account_id: str,
        token: TokenSource,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.account_url = f"{mail_url.rstrip('/')}/api/accounts/{account_id}"
        self.account_id = account_id
        self._token = token
        self.http = http_client

    async def get(self, http: httpx.AsyncClient, path: str, params: dict[str, Any] | None) -> Any:
        """The answer's `data`; InboxError when Zoho cannot be reached or refuses."""
        token = await self._token(None)
        response = await self._call(http, path, params, token)
        if zoho_error_code(response) == INVALID_TOKEN:
            # Expired or revoked early: one fresh token (unless another call already got one).
            response = await self._call(http, path, params, await self._token(token))
        if response.is_error:
            raise InboxError(
                f"Zoho Mail answered HTTP {response.status_code} "
                f"({zoho_error_code(response) or 'no error code'}) for {path.split('/')[-1]}"
            )
        return json_body(response).get("data")

    async def _call(
        self, http: httpx.AsyncClient, path: str, params: dict[str, Any] | None, token: SecretStr
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Zoho-oauthtoken {token.get_secret_value()}",
            "Accept": "application/json",
        }
        try:
            return await http.get(self.account_url + path, params=params, headers=headers)
        except httpx.TransportError as exc:
            raise InboxError(f"Zoho Mail unreachable ({type(exc).__name__})") from exc

    async def search(self, search_key: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """`GET .../messages/search?searchKey=`: the matching emails of every folder."""
        params = {"searchKey": search_key, "limit": limit, "includeto": "true"}
        if self.http is not None:
            data = await self.get(self.http, "/messages/search", params)
        else:
            async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
                data = await self.get(http, "/messages/search", params)
        return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


class ZohoInbox:
    via = "zoho"

    def __init__(
        self,
        *,
        mail_url: str,
        account_id: str,
        folder_id: str,
        token: TokenSource,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._api = ZohoMailAccount(
            mail_url=mail_url, account_id=account_id, token=token, http_client=http_client
        )
        self.account_url = self._api.account_url
        self.account_id = account_id
        self.folder_id = folder_id
        self._http = http_client

    def __repr__(self) -> str:
        return f"ZohoInbox(account_id={self.account_id!r}, folder_id={self.folder_id!r})"

    @property
    def key(self) -> str:
        return f"zoho:{self.account_id}/{self.folder_id}"

    async def fetch(self, cursor: Cursor | None, *, since: datetime, limit: int) -> Batch:
        if self._http is not None:
            return await self._fetch(self._http, cursor, since, limit)
        async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
            return await self._fetch(http, cursor, since, limit)

    async def _fetch(
        self, http: httpx.AsyncClient, cursor: Cursor | None, since: datetime, limit: int
    ) -> Batch:
        after_ms = int(cursor["received_ms"]) if cursor else int(since.timestamp() * 1000)
        seen = set(cursor.get("seen", [])) if cursor else set()
        new = await self._list_new(http, after_ms, seen)
        new.sort(key=lambda item: (_ms(item), str(item.get("messageId"))))
        chosen = new[:limit]
        messages: list[InboxMessage] = []
        checkpoints: list[Cursor] = []
        at_ms, at_ids = after_ms, set(seen)
        for item in chosen:
            zoho_id, received = str(item["messageId"]), _ms(item)
            folder = str(item.get("folderId") or self.folder_id)
            headers = await self._data(http, f"/folders/{folder}/messages/{zoho_id}/header")
            content = await self._data(http, f"/folders/{folder}/messages/{zoho_id}/content")
            messages.append(
                parse_headers_and_body(
                    str(headers.get("headerContent", "")),
                    html=str(content.get("content", "")),
                    ref=zoho_id,
                    received_at=datetime.fromtimestamp(received / 1000, UTC),
                )
            )
            if received != at_ms:
                at_ms, at_ids = received, set()
            at_ids.add(zoho_id)
            checkpoints.append({"received_ms": at_ms, "seen": sorted(at_ids)})
        final = checkpoints[-1] if checkpoints else {"received_ms": after_ms, "seen": sorted(seen)}
        return Batch(messages, checkpoints, final)

    async def _list_new(
        self, http: httpx.AsyncClient, after_ms: int, seen: set[str]
    ) -> list[dict[str, Any]]:
        """Pages newest first until a message at or before the cursor shows up."""
        found: list[dict[str, Any]] = []
        for page in range(MAX_PAGES):
            params = {"folderId": self.folder_id, "start": page * PAGE + 1, "limit": PAGE}
            data = await self._get(http, "/messages/view", params)
            items = data if isinstance(data, list) else []
            reached = False
            for item in items:
                if not isinstance(item, dict) or "messageId" not in item:
                    continue
                received = _ms(item)
                if received < after_ms or (received == after_ms and str(item["messageId"]) in seen):
                    reached = True
                    continue
                found.append(item)
            if reached or len(items) < PAGE:
                return found
        log.warning("inbox.zoho_backlog", folder_id=self.folder_id, listed=len(found))
        return found

    async def _data(self, http: httpx.AsyncClient, path: str) -> dict[str, Any]:
        data = await self._get(http, path, None)
        return data if isinstance(data, dict) else {}

    async def _get(self, http: httpx.AsyncClient, path: str, params: dict[str, Any] | None) -> Any:
        return await self._api.get(http, path, params)


def _ms(item: dict[str, Any]) -> int:
    try:
        return int(item.get("receivedTime") or 0)
    except (TypeError, ValueError):
        return 0
