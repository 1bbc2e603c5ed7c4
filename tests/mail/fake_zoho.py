"""A local server speaking Zoho's documented OAuth token and Mail send formats."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SEND_KEYS = frozenset(
    {
        "fromAddress",
        "toAddress",
        "ccAddress",
        "bccAddress",
        "subject",
        "content",
        "mailFormat",
        "askReceipt",
        "encoding",
    }
)


def zoho_error(status: int, error_code: str) -> JSONResponse:
    return JSONResponse(
        {
            "status": {"code": status, "description": "Invalid Input"},
            "data": {"errorCode": error_code},
        },
        status_code=status,
    )


@dataclass
class FakeZoho:
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    send_requests: list[dict[str, Any]] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    issued: int = 0
    token_error: tuple[int, str] | None = None  # (HTTP status, "error" value)
    token_delay: float = 0.0
    send_delay: float = 0.0
    reject_every_token: bool = False
    next_send: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    async def token(self, request: Request) -> JSONResponse:
        form = await request.form()
        self.token_requests.append({"form": dict(form), "query": dict(request.query_params)})
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if self.token_error:
            status, error = self.token_error
            return JSONResponse({"error": error}, status_code=status)
        self.issued += 1
        token = f"1000.access-{self.issued}"
        self.valid_tokens.add(token)
        return JSONResponse(
            {
                "access_token": token,
                "api_domain": "https://www.zohoapis.com",
                "token_type": "Bearer",
                "expires_in": 3600,
            }
        )

    async def send(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.send_requests.append(
            {"path": request.url.path, "headers": dict(request.headers), "json": body}
        )
        if self.send_delay:
            await asyncio.sleep(self.send_delay)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Zoho-oauthtoken" or token not in self.valid_tokens or self.reject_every_token:
            return zoho_error(401, "INVALID_OAUTHTOKEN")
        if set(body) - SEND_KEYS:
            return zoho_error(400, "EXTRA_KEY_FOUND_IN_JSON")
        if "@" not in body.get("toAddress", ""):
            return zoho_error(400, "INVALID_DATA")
        if self.next_send:
            status, payload = self.next_send.pop(0)
            return JSONResponse(payload, status_code=status)
        n = len(self.send_requests)
        return JSONResponse(
            {
                "status": {"code": 200, "description": "success"},
                "data": {
                    "messageId": f"17000000000000{n}",
                    "mailId": f"<1700000000000.{n}@zoho.com>",
                    "fromAddress": body["fromAddress"],
                    "toAddress": body["toAddress"],
                    "subject": body["subject"],
                },
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/v2/token", self.token, methods=["POST"]),
                Route("/api/accounts/{account_id}/messages", self.send, methods=["POST"]),
            ]
        )
