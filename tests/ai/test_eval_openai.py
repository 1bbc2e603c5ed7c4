"""`dealpilot ai eval --engine openai` against a local server speaking OpenAI's format: the
harness, the structured answers and the compliance net on the OpenAI path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from dealpilot.cli.main import app
from dealpilot.core.settings import get_settings
from tests.ai.fake_openai import FakeOpenAI, completion

LABELLED = [
    {"text": "Yes please, call me Tuesday.", "intent": "interested"},
    {"text": "STOP", "intent": "unsubscribe"},  # the net answers: the model is never asked
    {
        "text": "I'm away until Monday 16 March 2026.",
        "subject": "Automatic reply",
        "headers": {"Auto-Submitted": "auto-replied"},
        "received_at": "2026-03-05T02:00:00+00:00",
        "intent": "out_of_office",
        "return_date": "2026-03-16",
    },
    {"text": "Talk to Priya instead: priya@x.example.com.au", "intent": "referral"},
]


def _answer(intent: str, **kw: object) -> dict[str, object]:
    body = {
        "sentiment": "neutral",
        "intent": intent,
        "return_date": None,
        "summary": intent,
        "suggested_reply": None,
        "confidence": 0.9,
        "new_address": None,
    } | kw
    return completion(json.dumps(body))


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("DEALPILOT_ENV", "test")
    monkeypatch.setenv("DEALPILOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    get_settings.cache_clear()
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
    get_settings.cache_clear()


def test_eval_against_an_openai_compatible_server(
    cli_env: None, openai_server: tuple[str, FakeOpenAI], fake: FakeOpenAI, tmp_path: Path
) -> None:
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in LABELLED))
    fake.reply(200, _answer("interested"))
    fake.reply(200, _answer("out_of_office", return_date="2026-03-17"))  # a day out
    fake.reply(200, _answer("question"))  # a miss
    result = CliRunner().invoke(
        app,
        ["ai", "eval", str(path), "--engine", "openai", "--base-url", openai_server[0]],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stdout
    assert "engine: gpt-4o-mini" in result.stdout
    assert "intent accuracy:  75.0% (3/4)" in result.stdout
    assert "return dates exact:   0.0% (0/1" in result.stdout
    assert len(fake.requests) == 3  # STOP never reached the model
    schema = fake.requests[0]["response_format"]["json_schema"]
    assert schema["strict"] is True
    intents = schema["schema"]["properties"]["intent"]["enum"]
    assert {"auto_reply", "referral", "left_company"} <= set(intents)
    # The mail's headers reach the model with the reply.
    assert "Auto-Submitted: auto-replied" in fake.requests[1]["messages"][-1]["content"]
