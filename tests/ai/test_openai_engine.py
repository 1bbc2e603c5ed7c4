"""The OpenAI engine against a real local HTTP server speaking the chat-completions wire format.

Nothing is mocked: the official SDK sends real HTTP requests to a Starlette app on
127.0.0.1, which answers with scripted OpenAI-shaped responses and records what it got.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from activities._errors import to_application_error
from dealpilot.ai import (
    AIMalformedResponseError,
    AINonRetryableError,
    AIRefusalError,
    AIRetryableError,
    DealAnalysisInput,
    OpenAIEngine,
    ReplyInput,
    build_engine,
    render_prompt,
)
from dealpilot.ai.prompts import default_prompt_text
from dealpilot.core.settings import Settings
from tests.ai.fake_openai import FakeOpenAI, completion, error, serve_openai
from tests.mail.servers import free_port
from tests.waiting import wait_until_async


@pytest.fixture(scope="module")
def server_url() -> Iterator[tuple[str, FakeOpenAI]]:
    with serve_openai() as served:
        yield served


@pytest.fixture
def fake(server_url: tuple[str, FakeOpenAI]) -> FakeOpenAI:
    _, fake = server_url
    fake.answers.clear()
    fake.requests.clear()
    fake.headers.clear()
    return fake


def settings_for(url: str, timeout: float = 5.0) -> Settings:
    return Settings.model_validate(
        {
            "OPENAI_API_KEY": "sk-test-not-a-real-key",
            "OPENAI_BASE_URL": url,
            "OPENAI_MODEL": "gpt-4o-mini",
            "OPENAI_TIMEOUT": timeout,
        }
    )


def openai_engine(url: str, timeout: float = 5.0, **kw: Any) -> OpenAIEngine:
    built = build_engine(settings_for(url, timeout), **kw)
    assert isinstance(built, OpenAIEngine)
    return built


@pytest.fixture
async def engine(
    server_url: tuple[str, FakeOpenAI], fake: FakeOpenAI
) -> AsyncIterator[OpenAIEngine]:
    built = openai_engine(server_url[0])
    yield built
    await built.aclose()


def non_retryable(exc: BaseException) -> bool:
    """What the activities' one error mapping makes of an AI failure."""
    mapped = to_application_error(exc)
    assert mapped is not None
    assert mapped.type == type(exc).__name__
    return mapped.non_retryable


DEAL = DealAnalysisInput(
    brand_name="Codeteki",
    pipeline_name="Sales",
    stage_name="Follow-up 1",
    contact_name="Priya Sharma",
    contact_company="Acme",
    contact_email="priya@acme.test",
    engagement_tier="lurker",
    emails_sent=3,
    emails_opened=1,
    days_in_stage=4,
)
GOOD_ANALYSIS = {
    "action": "change_approach",
    "reasoning": "Opened once, quiet since.",
    "wait_days": None,
    "approach_note": "Lead with a case study.",
}


async def test_structured_answer_is_parsed_with_usage_recorded(
    engine: OpenAIEngine, fake: FakeOpenAI
) -> None:
    fake.reply(200, completion(json.dumps(GOOD_ANALYSIS)))
    result = await engine.analyze_deal(DEAL)
    assert result.value.action == "change_approach"
    assert result.value.approach_note == "Lead with a case study."
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert (result.prompt_tokens, result.completion_tokens) == (321, 54)
    assert result.latency_ms >= 0
    assert engine.model_name == "gpt-4o-mini"


async def test_request_carries_model_rendered_prompt_and_json_schema(
    engine: OpenAIEngine, fake: FakeOpenAI
) -> None:
    fake.reply(200, completion(json.dumps(GOOD_ANALYSIS)))
    await engine.analyze_deal(DEAL)
    sent = fake.requests[-1]
    expected = render_prompt(default_prompt_text("analyze_deal"), DEAL.model_dump(mode="json"))
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"] == [
        {"role": "system", "content": expected.system},
        {"role": "user", "content": expected.user},
    ]
    assert "Priya Sharma at Acme" in sent["messages"][1]["content"]
    fmt = sent["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "DealAnalysis"
    assert fmt["json_schema"]["strict"] is True
    assert set(fmt["json_schema"]["schema"]["properties"]) == set(GOOD_ANALYSIS)
    assert fake.headers[-1]["authorization"] == "Bearer sk-test-not-a-real-key"


async def test_reply_classification_with_a_date(engine: OpenAIEngine, fake: FakeOpenAI) -> None:
    answer = {
        "sentiment": "neutral",
        "intent": "out_of_office",
        "return_date": "2026-03-03",
        "summary": "Away until 3 March.",
        "suggested_reply": None,
        "confidence": 0.93,
    }
    fake.reply(200, completion(json.dumps(answer)))
    result = await engine.classify_reply(ReplyInput(text="Out of office until 3 March"))
    assert result.value.return_date == date(2026, 3, 3)
    assert result.value.intent == "out_of_office"


@pytest.mark.parametrize(
    "content",
    [
        "Sure! I think they should get another email.",  # not JSON
        json.dumps({"action": "email_them_now", "reasoning": "x"}),  # wrong schema
        json.dumps({**GOOD_ANALYSIS, "wait_days": "soon"}),
    ],
)
async def test_malformed_answer_is_a_retryable_malformed_error(
    engine: OpenAIEngine, fake: FakeOpenAI, content: str
) -> None:
    fake.reply(200, completion(content))
    with pytest.raises(AIMalformedResponseError) as info:
        await engine.analyze_deal(DEAL)
    assert isinstance(info.value, AIRetryableError)  # another sample usually parses
    assert not non_retryable(info.value)


async def test_refusal_is_not_retryable(engine: OpenAIEngine, fake: FakeOpenAI) -> None:
    fake.reply(200, completion(None, refusal="I'm sorry, I can't help with that."))
    with pytest.raises(AIRefusalError) as info:
        await engine.analyze_deal(DEAL)
    assert isinstance(info.value, AINonRetryableError)
    assert non_retryable(info.value)


@pytest.mark.parametrize(
    ("status", "body", "retryable"),
    [
        (429, error("Rate limit reached for gpt-4o-mini", "requests", "rate_limit_exceeded"), True),
        (
            429,
            error("You exceeded your current quota", "insufficient_quota", "insufficient_quota"),
            False,
        ),
        (
            401,
            error("Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
            False,
        ),
        (400, error("Invalid schema", "invalid_request_error", None), False),
        (403, error("Country not supported", "invalid_request_error", None), False),
        (404, error("The model does not exist", "invalid_request_error", "model_not_found"), False),
        (500, error("The server had an error", "server_error", None), True),
        (503, error("Overloaded", "server_error", None), True),
    ],
)
async def test_http_errors_map_to_retryable_or_not(
    engine: OpenAIEngine,
    fake: FakeOpenAI,
    status: int,
    body: dict[str, Any],
    retryable: bool,
) -> None:
    fake.reply(status, body)
    expected = AIRetryableError if retryable else AINonRetryableError
    with pytest.raises(expected) as info:
        await engine.analyze_deal(DEAL)
    assert info.value.upstream_status == status
    assert non_retryable(info.value) is not retryable
    assert len(fake.requests) == 1  # max_retries=0: Temporal is the only retry layer


async def test_timeout_is_retryable(server_url: tuple[str, FakeOpenAI], fake: FakeOpenAI) -> None:
    slow = openai_engine(server_url[0], timeout=0.3)
    fake.reply(200, completion(json.dumps(GOOD_ANALYSIS)), delay=1.0)
    with pytest.raises(AIRetryableError):
        await slow.analyze_deal(DEAL)
    await slow.aclose()
    # The server finishes the slow answer before the next test scripts its own.
    await wait_until_async(lambda: fake.in_flight == 0, timeout=5, what="the slow answer")


async def test_connection_refused_is_retryable() -> None:
    nobody = openai_engine(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(AIRetryableError) as info:
        await nobody.analyze_deal(DEAL)
    await nobody.aclose()
    assert info.value.upstream_status is None


async def test_injected_http_client_and_prompt_overrides(
    server_url: tuple[str, FakeOpenAI], fake: FakeOpenAI
) -> None:
    override = "[[system]]\nBe brief.\n[[user]]\nDeal with {{ contact_email }} at {{ stage_name }}"
    async with httpx.AsyncClient(headers={"x-dealpilot-test": "yes"}) as http_client:
        custom = openai_engine(
            server_url[0], prompt_overrides={"analyze_deal": override}, http_client=http_client
        )
        fake.reply(200, completion(json.dumps(GOOD_ANALYSIS)))
        await custom.analyze_deal(DEAL)
    assert fake.headers[-1]["x-dealpilot-test"] == "yes"
    assert fake.requests[-1]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Deal with priya@acme.test at Follow-up 1"},
    ]
