"""Prompt edits take effect: rows are checked on save, versioned, overridable per brand, and
the next AI call sends the text just saved (the OpenAI engine against a local server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from dealpilot.ai import AIEngine
from dealpilot.ai.calls import AIDecisions
from models.uow import UnitsOfWork
from tests.ai.fake_openai import FakeOpenAI, completion
from tests.api.helpers import assert_error
from tests.factories import make_brand, make_contact, make_deal, make_pipeline
from workflows.contracts import ReplyEvent, ReplyRequest

NOW = datetime(2026, 3, 4, 1, 30, tzinfo=UTC)
ANSWER = {
    "sentiment": "positive",
    "intent": "interested",
    "return_date": None,
    "summary": "Wants a call.",
    "suggested_reply": None,
    "confidence": 0.9,
    "new_address": None,
}


def test_a_prompt_is_checked_on_save_and_every_text_is_kept(client: TestClient) -> None:
    made = client.post(
        "/api/crm/prompts/",
        json={"prompt_type": "classify_reply", "prompt_text": "[[user]]\nRead: {{ text }}"},
    )
    assert made.status_code == 201
    prompt = made.json()
    assert (prompt["name"], prompt["version"], prompt["brand_id"]) == (
        "classify_reply:all",
        1,
        None,
    )
    url = f"/api/crm/prompts/{prompt['id']}/"
    for broken in ("Read: {{ txet }}", "Read: {% if %}", "[[system]]\nno user part"):
        assert_error(client.patch(url, json={"prompt_text": broken}), 422)
    edited = client.patch(url, json={"prompt_text": "[[user]]\nClassify: {{ text }}"}).json()
    assert edited["version"] == 2
    versions = client.get(f"{url}versions/").json()
    assert [(v["version"], v["prompt_text"]) for v in versions] == [
        (1, "[[user]]\nRead: {{ text }}"),
        (2, "[[user]]\nClassify: {{ text }}"),
    ]
    # Saving the same text again is no new version.
    assert (
        client.patch(url, json={"prompt_text": "[[user]]\nClassify: {{ text }}"}).json()["version"]
        == 2
    )
    assert_error(
        client.post(
            "/api/crm/prompts/",
            json={"prompt_type": "classify_reply", "prompt_text": "x", "brand_id": 999},
        ),
        404,
    )


def _deal(session: Session, slug: str) -> int:
    brand = make_brand(session, slug=slug)
    deal = make_deal(
        session,
        contact=make_contact(session, brand=brand, email=f"owner@{slug}.example.com.au"),
        pipeline=make_pipeline(session, brand=brand),
    )
    assert deal.id is not None
    return deal.id


def _user_message(request: dict[str, object]) -> str:
    messages = request["messages"]
    assert isinstance(messages, list)
    return str(messages[-1]["content"])


async def test_the_next_call_uses_the_saved_text_and_a_brands_override(
    engine: Engine,
    session: Session,
    client: TestClient,
    model_engine: AIEngine,
    fake: FakeOpenAI,
) -> None:
    ours, theirs = _deal(session, "codeteki"), _deal(session, "desifirms")
    desi_id = client.get("/api/crm/brands/").json()[1]["id"]
    shared = client.post(
        "/api/crm/prompts/",
        json={"prompt_type": "classify_reply", "prompt_text": "[[user]]\nV1: {{ text }}"},
    ).json()
    decisions = AIDecisions(UnitsOfWork(engine), model_engine)

    async def classify(deal_id: int) -> str:
        fake.reply(200, completion(json.dumps(ANSWER)))
        req = ReplyRequest(deal_id=deal_id, reply=ReplyEvent(text="Sounds good", received_at=NOW))
        await decisions.classify_reply(req, now=NOW)
        return _user_message(fake.requests[-1])

    assert await classify(ours) == "V1: Sounds good"
    client.patch(
        f"/api/crm/prompts/{shared['id']}/", json={"prompt_text": "[[user]]\nV2: {{ text }}"}
    )
    assert await classify(ours) == "V2: Sounds good"
    override = client.post(
        "/api/crm/prompts/",
        json={
            "prompt_type": "classify_reply",
            "prompt_text": "[[user]]\nDesi Firms: {{ text }}",
            "brand_id": desi_id,
        },
    ).json()
    assert override["name"] == "classify_reply:desifirms"
    assert await classify(theirs) == "Desi Firms: Sounds good"
    assert await classify(ours) == "V2: Sounds good"
    client.patch(f"/api/crm/prompts/{override['id']}/", json={"is_active": False})
    assert await classify(theirs) == "V2: Sounds good"
