"""Routers that answer with and without the trailing slash, without redirects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


class CRMRouter(APIRouter):
    """`/api/crm/deals/` is the documented path (as in the original system); the same
    route also answers at `/api/crm/deals`, hidden from the schema. No 307 redirect:
    clients that drop the slash (or the Authorization header on redirect) just work."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().add_api_route(path, endpoint, **kwargs)
        if path.endswith("/"):
            hidden = {**kwargs, "include_in_schema": False}
            super().add_api_route(path.rstrip("/"), endpoint, **hidden)
