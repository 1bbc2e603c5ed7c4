"""The REST API in front of real deal workflows: the time-skipping Temporal server, a worker
on a uuid task queue, a seeded PostgreSQL database and an aiosmtpd inbox (the fixtures of
tests/workflows, reused unchanged), and the app called in-process on the same event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from api import create_app
from models import Brand, Contact, Deal, Pipeline, session_scope
from tests.workflows.conftest import Stack, smtp, stack, time_env  # noqa: F401 (fixtures)

API_KEY = "api-workflows-key"


@dataclass
class Api:
    stack: Stack
    app: FastAPI
    http: httpx.AsyncClient

    def contact(self, email: str, *, brand: str, name: str = "") -> int:
        with session_scope(self.stack.engine) as s:
            b = s.exec(select(Brand).where(Brand.slug == brand)).one()
            contact = Contact(brand_id=b.id or 0, email=email, name=name)
            s.add(contact)
            s.flush()
            return contact.id or 0

    def pipeline_id(self, brand: str, slug: str) -> int:
        with Session(self.stack.engine) as s:
            b = s.exec(select(Brand).where(Brand.slug == brand)).one()
            p = s.exec(select(Pipeline).where(Pipeline.brand_id == b.id, Pipeline.slug == slug))
            return p.one().id or 0

    def deal(self, deal_id: int) -> Deal:
        with Session(self.stack.engine) as s:
            deal = s.get(Deal, deal_id)
            assert deal is not None
            return deal


def api_app(on: Stack, *, temporal: bool = True) -> FastAPI:
    settings = on.settings.model_copy(update={"temporal_task_queue": on.task_queue})
    return create_app(
        engine=on.engine,
        api_keys={API_KEY},
        settings=settings,
        temporal=on.client if temporal else None,
    )


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://api.test",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:  # noqa: F811
    app = api_app(stack)
    async with client_for(app) as http:
        yield Api(stack, app, http)
