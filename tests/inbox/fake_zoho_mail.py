"""A local server speaking Zoho Mail's documented inbox formats: OAuth token, list emails in a
folder (newest first), search (`to:` narrows; the caller checks the rest), an email's content
and its raw headers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dealpilot.core.settings import Settings
from dealpilot.mail.zoho import ZohoProvider


def ok(data: Any) -> JSONResponse:
    return JSONResponse({"status": {"code": 200, "description": "success"}, "data": data})


@dataclass
class ZohoMessage:
    message_id: str  # Zoho's numeric id, as a string
    received_ms: int
    from_address: str
    subject: str
    headers: str
    html: str
    to_address: str = "hello@codeteki.au"


@dataclass
class FakeZohoMail:
    account_id: str = "5550001"
    folder_id: str = "9000000002014"
    messages: list[ZohoMessage] = field(default_factory=list)
    token_requests: int = 0
    calls: list[str] = field(default_factory=list)
    failing: bool = False  # every search answers HTTP 500

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization", "").startswith("Zoho-oauthtoken 1000.")

    async def token(self, request: Request) -> JSONResponse:
        self.token_requests += 1
        return JSONResponse(
            {"access_token": f"1000.inbox-{self.token_requests}", "expires_in": 3600}
        )

    async def view(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse(
                {"status": {"code": 401}, "data": {"errorCode": "INVALID_OAUTHTOKEN"}}, 401
            )
        q = request.query_params
        assert q["folderId"] == self.folder_id
        start, limit = int(q.get("start", 1)), int(q.get("limit", 10))
        assert 1 <= limit <= 200
        self.calls.append(f"view:{start}")
        newest = sorted(self.messages, key=lambda m: m.received_ms, reverse=True)
        page = newest[start - 1 : start - 1 + limit]
        return ok(
            [
                {
                    "messageId": m.message_id,
                    "folderId": self.folder_id,
                    "subject": m.subject,
                    "fromAddress": m.from_address,
                    "sender": m.from_address,
                    "receivedTime": str(m.received_ms),
                    "summary": m.html[:50],
                    "status": "0",
                }
                for m in page
            ]
        )

    async def search(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse(
                {"status": {"code": 401}, "data": {"errorCode": "INVALID_OAUTHTOKEN"}}, 401
            )
        key = request.query_params["searchKey"]
        self.calls.append(f"search:{key}")
        if self.failing:
            return JSONResponse({"status": {"code": 500}, "data": {"errorCode": "INTERNAL"}}, 500)
        terms = dict(term.split(":", 1) for term in key.split("::"))
        to = terms.get("to", "").lower()
        hits = [m for m in self.messages if to in m.to_address.lower()]
        return ok(
            [
                {
                    "messageId": m.message_id,
                    "folderId": self.folder_id,
                    "subject": m.subject,
                    "fromAddress": m.from_address,
                    "toAddress": f"&lt;{m.to_address}&gt;",
                    "sentDateInGMT": str(m.received_ms),
                    "receivedTime": str(m.received_ms),
                }
                for m in hits
            ]
        )

    def _find(self, request: Request) -> ZohoMessage:
        assert request.path_params["folder"] == self.folder_id
        wanted = request.path_params["message"]
        return next(m for m in self.messages if m.message_id == wanted)

    async def content(self, request: Request) -> JSONResponse:
        m = self._find(request)
        self.calls.append(f"content:{m.message_id}")
        return ok({"messageId": m.message_id, "content": m.html})

    async def header(self, request: Request) -> JSONResponse:
        m = self._find(request)
        self.calls.append(f"header:{m.message_id}")
        return ok({"messageId": m.message_id, "headerContent": m.headers})

    def app(self) -> Starlette:
        base = f"/api/accounts/{self.account_id}"
        one = base + "/folders/{folder}/messages/{message}"
        return Starlette(
            routes=[
                Route("/oauth/v2/token", self.token, methods=["POST"]),
                Route(base + "/messages/view", self.view),
                Route(base + "/messages/search", self.search),
                Route(one + "/content", self.content),
                Route(one + "/header", self.header),
            ]
        )


def zoho_settings(fake: FakeZohoMail, url: str, **extra: Any) -> Settings:
    """The zoho provider configured against the fake at `url` (plus `extra`, by env name)."""
    return Settings(
        _env_file=None,
        DEALPILOT_ENV="test",
        ZOHO_CLIENT_ID="client",
        ZOHO_CLIENT_SECRET="zoho-secret",
        ZOHO_REFRESH_TOKEN="zoho-refresh",
        ZOHO_ACCOUNT_ID=fake.account_id,
        ZOHO_ACCOUNTS_URL=url,
        ZOHO_MAIL_URL=url,
        **extra,
    )


def zoho_provider(fake: FakeZohoMail, url: str, http: httpx.AsyncClient) -> ZohoProvider:
    return ZohoProvider(
        client_id="client",
        client_secret=SecretStr("zoho-secret"),
        refresh_token=SecretStr("zoho-refresh"),
        account_id=fake.account_id,
        accounts_url=url,
        mail_url=url,
        http_client=http,
    )
