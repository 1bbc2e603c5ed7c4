"""A local server speaking OpenAI's chat-completions wire format, for the tests of everything
that calls the AI: scripted answers, every request kept. The official SDK talks to it over
real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.mail.servers import serve_asgi


@dataclass
class FakeOpenAI:
    """Scripted answers, first in first out; every request body is kept."""

    answers: list[tuple[int, dict[str, Any], float]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0  # requests still being answered (a delayed answer outlives its client)

    def reply(self, status: int, body: dict[str, Any], *, delay: float = 0.0) -> None:
        self.answers.append((status, body, delay))

    async def chat(self, request: Request) -> JSONResponse:
        self.in_flight += 1
        try:
            self.requests.append(await request.json())
            self.headers.append(dict(request.headers))
            status, body, delay = self.answers.pop(0)
            if delay:
                await asyncio.sleep(delay)
            return JSONResponse(body, status_code=status)
        finally:
            self.in_flight -= 1


def completion(content: str | None, *, refusal: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1767225600,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 321, "completion_tokens": 54, "total_tokens": 375},
    }


def error(message: str, type_: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


@contextmanager
def serve_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    """Yields the base URL (`OPENAI_BASE_URL`, ending in /v1) and the scripted server."""
    fake = FakeOpenAI()
    app = Starlette(routes=[Route("/v1/chat/completions", fake.chat, methods=["POST"])])
    with serve_asgi(app) as url:
        yield f"{url}/v1", fake
