"""An AI draft written by the OpenAI engine: a local server speaking the chat-completions wire
format (tests/ai's), the composer's request to it, and the logged decision with its tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api import create_app
from dealpilot.core.settings import Settings
from models import AIDecisionLog
from tests.ai.fake_openai import FakeOpenAI, completion
from tests.ai.test_openai_engine import openai_engine, server_url
from tests.composer.conftest import Setup
from tests.factories import make_contact

__all__ = ["server_url"]  # the fixture, imported for pytest


@pytest.fixture
def fake(server_url: tuple[str, FakeOpenAI]) -> FakeOpenAI:  # noqa: F811
    _, fake = server_url
    fake.answers.clear()
    fake.requests.clear()
    return fake


@pytest.fixture
def openai_app(engine: Engine, server_url: tuple[str, FakeOpenAI]) -> FastAPI:  # noqa: F811
    return create_app(
        engine=engine,
        api_keys={"k"},
        settings=Settings(DEALPILOT_ENV="test"),
        ai=openai_engine(server_url[0]),
    )


@pytest.fixture
def openai_client(openai_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(openai_app, headers={"Authorization": "Bearer k"}) as c:
        yield c


def test_the_openai_engine_drafts_for_one_known_contact(
    openai_client: TestClient, fake: FakeOpenAI, setup: Setup, session: Session
) -> None:
    contact = make_contact(
        session, brand=setup.brand, email="mai@pho.example.com", name="Mai Nguyen", company="Pho Co"
    )
    answer = {
        "subject": "A faster site for Pho Co",
        "body_paragraphs": [
            "Pho Co's menu page takes a while to load on phones.",
            "We could fix that in a week. Worth a chat, {{ contact.first_name }}?",
        ],
    }
    fake.reply(200, completion(json.dumps(answer)))
    r = openai_client.post(
        "/api/crm/composer/drafts/",
        json={
            "brand": "acme",
            "pipeline": "sales",
            "email_type": "backlink_pitch",
            "tone": "formal",
            "contact_ids": [contact.id],
            "instructions": "Keep it under 80 words.",
        },
    )
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["subject"] == "A faster site for Pho Co"
    assert draft["body"] == "\n\n".join(answer["body_paragraphs"])

    (request,) = fake.requests
    prompt = "\n".join(m["content"] for m in request["messages"])
    assert "Acme Web" in prompt
    assert "formal and courteous" in prompt  # the tone, as the AI is asked for it
    assert "backlink pitch" in prompt
    assert "Mai Nguyen at Pho Co <mai@pho.example.com>" in prompt  # the one recipient
    assert "Keep it under 80 words." in prompt
    log = session.exec(select(AIDecisionLog)).one()
    assert (log.model, log.prompt_tokens, log.completion_tokens) == (
        "gpt-4o-mini-2024-07-18",
        321,
        54,
    )
    assert log.meta["draft_id"] == draft["id"]

    preview = openai_client.post(f"/api/crm/composer/drafts/{draft['id']}/preview").json()
    assert "Worth a chat, Mai?" in preview["text"]


def test_an_ai_failure_is_a_clear_502_and_no_draft(
    openai_client: TestClient, fake: FakeOpenAI, setup: Setup, session: Session
) -> None:
    fake.reply(401, {"error": {"message": "bad key", "type": "auth", "param": None, "code": None}})
    r = openai_client.post(
        "/api/crm/composer/drafts/",
        json={"brand": "acme", "pipeline": "sales", "email_type": "intro", "addresses": "a@b.com"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (502, "ai_unavailable")
    r = openai_client.get("/api/crm/composer/drafts/")
    assert r.json()["total"] == 0


def test_the_brands_prompt_override_writes_its_drafts(
    openai_client: TestClient, fake: FakeOpenAI, setup: Setup, session: Session
) -> None:
    made = openai_client.post(
        "/api/crm/prompts/",
        json={
            "prompt_type": "compose_email",
            "prompt_text": "[[user]]\nWrite for {{ brand_name }} in rhyme: {{ purpose }}",
            "brand_id": setup.brand.id,
        },
    )
    assert made.status_code == 201, made.text
    answer = {"subject": "Hello", "body_paragraphs": ["A line.", "Another line."]}
    fake.reply(200, completion(json.dumps(answer)))
    r = openai_client.post(
        "/api/crm/composer/drafts/",
        json={
            "brand": "acme",
            "pipeline": "sales",
            "email_type": "intro",
            "addresses": "raj@kumar.com.au",
        },
    )
    assert r.status_code == 201, r.text
    (request,) = fake.requests
    assert request["messages"][-1]["content"].startswith("Write for Acme Web in rhyme: ")
