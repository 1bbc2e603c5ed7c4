"""Temporal configured but unreachable while a draft is sent: the deals are kept (no lost
deals), the draft is sent once, and the response says the workflows start later."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from api import create_app
from dealpilot.core.settings import Settings
from models import Deal
from tests.composer.conftest import Setup
from tests.smtp import free_port


@pytest.fixture
async def http(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    # A lazy client connects on first use, to a port where nothing listens.
    dead = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    app = create_app(
        engine=engine, api_keys={"k"}, settings=Settings(DEALPILOT_ENV="test"), temporal=dead
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://api.test",
        headers={"Authorization": "Bearer k"},
    ) as client:
        yield client


@pytest.mark.timeout(60)
async def test_deals_are_kept_and_reported_pending(
    http: httpx.AsyncClient, setup: Setup, session: Session
) -> None:
    r = await http.post(
        "/api/crm/composer/drafts/",
        json={
            "brand": "acme",
            "pipeline": "sales",
            "email_type": "intro",
            "ai": False,
            "subject": "Hi",
            "body": "Hello",
            "addresses": "one@example.com.au, two@example.com.au",
        },
    )
    draft_id = r.json()["id"]
    r = await http.post(f"/api/crm/composer/drafts/{draft_id}/send")
    assert r.status_code == 202, r.text
    outcome = r.json()["outcome"]
    assert (outcome["workflows_started"], outcome["workflows_pending"]) == (0, 2)
    assert [d["workflow_id"] for d in outcome["deals"]] == [None, None]
    deals = session.exec(select(Deal)).all()
    assert sorted(d.id for d in deals) == sorted(d["deal_id"] for d in outcome["deals"])
    assert all(d.workflow_id is None for d in deals)
    r = await http.post(f"/api/crm/composer/drafts/{draft_id}/send")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "draft_already_sent")
    assert len(session.exec(select(Deal)).all()) == 2
