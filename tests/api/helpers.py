from __future__ import annotations

from typing import Any

import httpx


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Every error has the same envelope; returns the `error` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def fields_of(error: dict[str, Any]) -> set[str]:
    return {d["field"] for d in error["details"] or []}
