"""A local server speaking ZeptoMail's documented `POST /v1.1/email` format."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.mail.servers import json_error

SEND_KEYS = frozenset(
    {
        "bounce_address",
        "from",
        "to",
        "cc",
        "bcc",
        "reply_to",
        "subject",
        "htmlbody",
        "textbody",
        "track_clicks",
        "track_opens",
        "client_reference",
        "mime_headers",
        "attachments",
        "inline_images",
    }
)


@dataclass
class FakeZeptoMail:
    token: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0
    next_response: list[Response] = field(default_factory=list)

    async def send(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(json_error("TM_3301", "SM_101"), status_code=400)
        self.requests.append({"headers": dict(request.headers), "json": body})
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.headers.get("authorization") != f"Zoho-enczapikey {self.token}":
            return JSONResponse(json_error("TM_4001", "SERR_157"), status_code=401)
        if set(body) - SEND_KEYS or not {"from", "to", "subject"} <= set(body):
            return JSONResponse(json_error("TM_3201", "GE_102"), status_code=400)
        if self.next_response:
            return self.next_response.pop(0)
        return JSONResponse(
            {
                "data": [
                    {"code": "EM_104", "additional_info": [], "message": "Email request received"}
                ],
                "message": "OK",
                "request_id": f"2d6f.{len(self.requests)}",
                "object": "email",
            },
            status_code=201,
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1.1/email", self.send, methods=["POST"])])
