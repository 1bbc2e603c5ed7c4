"""`dealpilot compose ...`: in-process for the database commands, and `send` as a real
subprocess against the time-skipping Temporal server, whose worker (in this process) then
runs the deals that send the email."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from dealpilot.cli.main import app
from dealpilot.core.settings import get_settings
from models import AIDecisionLog, DraftStatus, EmailDraft
from tests.api_workflows.conftest import Api
from tests.composer.conftest import Setup

DEALPILOT = Path(sys.executable).parent / "dealpilot"


def _db_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def cli_env(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", _db_url(engine))
    monkeypatch.setenv("DEALPILOT_ENV", "test")
    monkeypatch.setenv("DEALPILOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    get_settings.cache_clear()
    # The CLI configures structlog to print to sys.stderr, which CliRunner swaps for a stream
    # it closes afterwards: put the test session's logging back so later tests can log.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
    get_settings.cache_clear()


def _run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["compose", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_draft_schedule_list_show(
    cli_env: None, setup: Setup, session: Session, tmp_path: Path
) -> None:
    code, out, err = _run(
        "draft", "--brand", "acme", "--pipeline", "sales", "--type", "partnership",
        "--tone", "direct", "--to", "Priya <priya@x.com.au>, raj@y.com.au", "--tag", "agents",
        "--instructions", "We run a joint webinar in March.", "--json",
    )  # fmt: skip
    assert code == 0, err
    drafted = json.loads(out)
    assert drafted["ai_generated"] is True
    assert drafted["recipients"] == ["Priya <priya@x.com.au>", "raj@y.com.au"]
    assert drafted["recipient_filter"]["tags"] == ["agents"]
    assert "We run a joint webinar in March." not in drafted["body"]  # a brief, not copy
    log = session.exec(select(AIDecisionLog)).one()
    assert log.meta["draft_id"] == drafted["id"]

    body = tmp_path / "body.txt"
    body.write_text("Hi again, {{ contact.first_name or 'friend' }}.\n", "utf-8")
    code, out, err = _run(
        "draft", "--brand", "acme", "--pipeline", "sales", "--no-ai", "--to", "a@b.com.au",
        "--subject", "Hello {{ contact.first_name }}", "--body-file", str(body),
    )  # fmt: skip
    assert code == 0, err
    assert "written by a person" in out
    assert "subject  Hello {{ contact.first_name }}" in out
    written = session.exec(select(EmailDraft).where(EmailDraft.ai_generated == False)).one()  # noqa: E712
    assert written.body == "Hi again, {{ contact.first_name or 'friend' }}.\n"

    year = datetime.now(UTC).year + 1
    code, out, err = _run("schedule", str(written.id), "--at", f"{year}-11-24 09:30")
    assert code == 0, err
    assert f"sends at {year}-11-24 09:30 AEDT ({year}-11-23 22:30 UTC)" in out
    session.expire_all()
    stored = session.get(EmailDraft, written.id)
    assert stored is not None
    assert stored.status == DraftStatus.scheduled
    assert stored.scheduled_at == datetime(year, 11, 23, 22, 30, tzinfo=UTC)

    code, out, _ = _run("list", "--brand", "acme", "--status", "scheduled")
    assert code == 0
    assert out.splitlines() == [
        f"{written.id:<6} scheduled  intro           {year}-11-24 09:30 AEDT  "
        "Hello {{ contact.first_name }}"
    ]
    code, out, _ = _run("show", str(drafted["id"]))
    assert code == 0
    assert out.startswith(f"Draft {drafted['id']}  [draft]")


def test_mistakes_are_clear_errors(cli_env: None, setup: Setup, session: Session) -> None:
    code, _, err = _run("draft", "--brand", "acme", "--pipeline", "sales", "--type", "blast")
    assert code == 1
    assert "error [validation_error]" in err
    assert "unknown email type 'blast'" in err
    code, _, err = _run("draft", "--brand", "acme", "--pipeline", "nope")
    assert (code, err.splitlines()[0]) == (1, "error [unknown_pipeline]: No pipeline 'nope'")
    code, out, err = _run(
        "draft", "--brand", "acme", "--pipeline", "sales", "--no-ai", "--subject", "x",
        "--body-file", "-", "--json",
    )  # fmt: skip
    draft_id = json.loads(out)["id"] if code == 0 else None
    assert draft_id is not None, err
    code, _, err = _run("schedule", str(draft_id), "--at", "2020-01-01 09:00")
    assert (code, err.split(":")[0]) == (1, "error [time_in_past]")
    code, _, err = _run("schedule", str(draft_id), "--at", "soon")
    assert "error [validation_error]" in err
    code, _, err = _run("show", "99999")
    assert (code, err.split(":")[0]) == (1, "error [not_found]")


@pytest.mark.temporal
@pytest.mark.timeout(120)
async def test_send_from_the_cli_reaches_the_recipients(api: Api, tmp_path: Path) -> None:
    stack = api.stack
    stack.open_window("codeteki")
    r = await api.http.post(
        "/api/crm/composer/drafts/",
        json={
            "brand": "codeteki",
            "pipeline": "sales",
            "email_type": "intro",
            "ai": False,
            "subject": "From the terminal, {{ contact.first_name }}",
            "body": "Sent with dealpilot compose send.",
            "addresses": "Ana <ana@cafe.com.au>",
        },
    )
    draft_id = r.json()["id"]
    env = {
        **os.environ,
        "DATABASE_URL": _db_url(stack.engine),
        "DEALPILOT_ENV": "test",
        "DEALPILOT_DATA_DIR": str(tmp_path),
        "TEMPORAL_ADDRESS": stack.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": stack.task_queue,
    }
    proc = await asyncio.create_subprocess_exec(
        str(DEALPILOT), "compose", "send", str(draft_id),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert f"Draft {draft_id}  [sent]" in text
    assert "Outcome: 1 deal(s) created, 1 workflow(s) started, 0 skipped" in text

    await stack.env.sleep(timedelta(hours=1))
    (message,) = stack.inbox.to("ana@cafe.com.au")
    assert message["Subject"] == "From the terminal, Ana"
    assert "Sent with dealpilot compose send." in message.get_body(("plain",)).get_content()

    again = await asyncio.create_subprocess_exec(
        str(DEALPILOT), "compose", "send", str(draft_id),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(again.communicate(), 60)
    assert again.returncode == 1
    assert err.decode().startswith("error [draft_already_sent]")
