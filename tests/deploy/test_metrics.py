"""Metrics counted where things really happen: AI calls against a local OpenAI-format server and
the rule engine, sends through the outbox and a real SMTP server, API requests, inbound webhooks,
and the database ledger the API's /metrics reads. Counters are process-wide, so each test
compares values before and after."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlmodel import Session, select

from api import create_app
from dealpilot.ai import HeuristicEngine, LeadInput, build_engine
from dealpilot.ai.calls import AIDecisions
from dealpilot.core import metrics
from dealpilot.core.settings import Settings
from dealpilot.intake.signatures import sign_dealpilot
from dealpilot.mail.base import OutgoingEmail, PermanentMailError
from dealpilot.mail.outbox import OutboxProvider
from dealpilot.mail.smtp import SmtpProvider
from dealpilot.tracking.tracker import Tracker
from models import AIDecisionLog, EmailStatus
from models.uow import UnitsOfWork
from tests.ai.fake_openai import FakeOpenAI, completion, serve_openai
from tests.api.helpers import assert_error
from tests.factories import make_brand, make_contact, make_deal, make_email_log, make_pipeline
from tests.smtp import smtp_server
from tests.waiting import wait_until

API_KEY = "metrics-test-key"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def total(name: str, **labels: str) -> float:
    """Sum over every series of `name` whose labels include `labels`."""
    found = 0.0
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                found += sample.value
    return found


def scrape(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


# ------------------------------------------------------------------------------ prices
def test_price_table_matches_dated_models_and_takes_overrides() -> None:
    table = metrics.PriceTable({"acme-7": (1.0, 2.0), "gpt-4o-mini": (0.2, 0.8)})
    assert table.price("gpt-4o-2024-08-06") == (2.50, 10.00)
    assert table.price("gpt-4o-mini-2024-07-18") == (0.2, 0.8)  # longest prefix, overridden
    assert table.price("heuristic-v1") == (0.0, 0.0)
    assert table.price("gpt-4omni") is None  # a listed prefix must be followed by a dash
    assert table.price("llama-3") is None
    assert table.cost("acme-7", 1_000_000, 500_000) == pytest.approx(2.0)
    assert table.cost("llama-3", 10, 10) is None


# ------------------------------------------------------------------------------ AI
@pytest.fixture(scope="module")
def openai_server() -> Iterator[tuple[str, FakeOpenAI]]:
    with serve_openai() as served:
        yield served


def openai_decisions(engine: Engine, url: str) -> AIDecisions:
    settings = Settings.model_validate(
        {"OPENAI_API_KEY": "sk-test-not-a-real-key", "OPENAI_BASE_URL": url, "OPENAI_TIMEOUT": 5}
    )
    return AIDecisions(UnitsOfWork(engine), build_engine(settings))


LEAD = LeadInput(email="pat@acme.test", name="Pat", company="Acme")


async def test_openai_call_counts_tokens_and_cost_by_model(
    engine: Engine, openai_server: tuple[str, FakeOpenAI]
) -> None:
    url, fake = openai_server
    model = "gpt-4o-mini-2024-07-18"  # what the server answers with (tests.ai's completion)
    metrics.configure_prices(None)
    before = (
        value("dealpilot_ai_tokens_total", model=model, kind="prompt"),
        value("dealpilot_ai_tokens_total", model=model, kind="completion"),
        value("dealpilot_ai_cost_usd_total", model=model),
        value("dealpilot_ai_calls_total", model=model, decision="score_lead", outcome="ok"),
    )
    fake.reply(200, completion(json.dumps({"score": 72, "reasoning": "fits"})))

    score = await openai_decisions(engine, url).score_lead(LEAD)

    assert score.score == 72
    after = (
        value("dealpilot_ai_tokens_total", model=model, kind="prompt"),
        value("dealpilot_ai_tokens_total", model=model, kind="completion"),
        value("dealpilot_ai_cost_usd_total", model=model),
        value("dealpilot_ai_calls_total", model=model, decision="score_lead", outcome="ok"),
    )
    assert after[0] - before[0] == 321
    assert after[1] - before[1] == 54
    assert after[2] - before[2] == pytest.approx((321 * 0.15 + 54 * 0.60) / 1_000_000)
    assert after[3] - before[3] == 1
    assert value("dealpilot_ai_model_priced", model=model) == 1
    with Session(engine) as s:
        logged = s.exec(select(AIDecisionLog)).one()
    assert (logged.model, logged.prompt_tokens, logged.completion_tokens) == (model, 321, 54)


async def test_unknown_model_counts_tokens_at_no_cost(
    engine: Engine, openai_server: tuple[str, FakeOpenAI]
) -> None:
    url, fake = openai_server
    model = "acme-llm-7"
    answer = completion(json.dumps({"score": 10, "reasoning": "no"})) | {"model": model}
    fake.reply(200, answer)
    metrics.configure_prices(None)

    await openai_decisions(engine, url).score_lead(LEAD)

    assert value("dealpilot_ai_tokens_total", model=model, kind="prompt") == 321
    assert value("dealpilot_ai_cost_usd_total", model=model) == 0
    assert value("dealpilot_ai_model_priced", model=model) == 0

    # Priced once the operator adds it (AI_PRICES), from the next call on.
    metrics.configure_prices({model: (1.0, 4.0)})
    try:
        fake.reply(200, answer)
        await openai_decisions(engine, url).score_lead(LEAD)
    finally:
        metrics.configure_prices(None)
    assert value("dealpilot_ai_tokens_total", model=model, kind="prompt") == 642
    expected = (321 * 1.0 + 54 * 4.0) / 1_000_000
    assert value("dealpilot_ai_cost_usd_total", model=model) == pytest.approx(expected)
    assert value("dealpilot_ai_model_priced", model=model) == 1


async def test_failed_ai_call_is_counted_as_an_error(
    engine: Engine, openai_server: tuple[str, FakeOpenAI]
) -> None:
    url, fake = openai_server
    labels = {"model": "gpt-4o-mini", "decision": "score_lead", "outcome": "error"}
    before = value("dealpilot_ai_calls_total", **labels)
    fake.reply(400, {"error": {"message": "bad", "type": "invalid_request_error", "code": None}})
    with pytest.raises(Exception, match="rejected"):
        await openai_decisions(engine, url).score_lead(LEAD)
    assert value("dealpilot_ai_calls_total", **labels) == before + 1


async def test_rule_engine_calls_are_counted_free(engine: Engine) -> None:
    model = HeuristicEngine.model_name
    before = value("dealpilot_ai_calls_total", model=model, decision="score_lead", outcome="ok")
    cost = value("dealpilot_ai_cost_usd_total", model=model)
    await AIDecisions(UnitsOfWork(engine), HeuristicEngine()).score_lead(LEAD)
    after = value("dealpilot_ai_calls_total", model=model, decision="score_lead", outcome="ok")
    assert after == before + 1
    assert value("dealpilot_ai_cost_usd_total", model=model) == cost
    assert value("dealpilot_ai_model_priced", model=model) == 1


# ------------------------------------------------------------------------------ email
def outgoing(to: str) -> OutgoingEmail:
    return OutgoingEmail(
        from_email="hello@codeteki.example",
        from_name="Codeteki",
        to_email=to,
        to_name="",
        subject="Hello",
        html="<p>Hi</p>",
        text="Hi",
        message_id=f"<metrics-{time.monotonic_ns()}@codeteki.example>",
    )


async def test_outbox_send_counts(tmp_path: Path) -> None:
    before = value("dealpilot_emails_sent_total", provider="outbox")
    await OutboxProvider(tmp_path).send(outgoing("ann@example.com"))
    assert len(list(tmp_path.glob("*.eml"))) == 1
    assert value("dealpilot_emails_sent_total", provider="outbox") == before + 1


async def test_smtp_sends_and_refusals_count() -> None:
    refused = "nobody@example.com"
    with smtp_server(refuse=frozenset({refused})) as (inbox, port):
        provider = SmtpProvider(host="127.0.0.1", port=port, security="none")
        sent = value("dealpilot_emails_sent_total", provider="smtp")
        failed = total("dealpilot_email_failures_total", provider="smtp")
        await provider.send(outgoing("bob@example.com"))
        with pytest.raises(PermanentMailError):
            await provider.send(outgoing(refused))
        await provider.aclose()
    assert len(inbox.to("bob@example.com")) == 1
    assert value("dealpilot_emails_sent_total", provider="smtp") == sent + 1
    assert total("dealpilot_email_failures_total", provider="smtp") == failed + 1


# ------------------------------------------------------------------------------ API
def api(engine: Engine, **env: str) -> TestClient:
    settings = Settings.model_validate({"DEALPILOT_ENV": "test", **env})
    app = create_app(engine=engine, api_keys={API_KEY}, settings=settings)
    return TestClient(app, headers={"Authorization": f"Bearer {API_KEY}"})


def test_requests_are_counted_by_route_template_never_the_raw_path(engine: Engine) -> None:
    with api(engine) as client:
        assert client.get("/api/crm/deals/987654/").status_code == 404
        assert client.get("/api/crm/deals/987654").status_code == 404  # same route, no slash
        assert client.get("/api/crm/brands/").status_code == 200
        assert client.get("/no/such/path/555").status_code == 404
        page = client.get("/metrics")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    samples = scrape(page.text)
    key = frozenset({"method": "GET", "route": "/api/crm/deals/{deal_id}", "status": "404"}.items())
    assert samples[("dealpilot_http_requests_total", key)] >= 2
    brands = frozenset({"method": "GET", "route": "/api/crm/brands", "status": "200"}.items())
    assert samples[("dealpilot_http_requests_total", brands)] >= 1
    unmatched = frozenset({"method": "GET", "route": "<unmatched>", "status": "404"}.items())
    assert samples[("dealpilot_http_requests_total", unmatched)] >= 1
    label_values = {value for (_, labels) in samples for (_, value) in labels}
    # never a raw path: no label carries an id or an unmatched path
    assert not [v for v in label_values if "987654" in v or "/no/such" in v]
    duration = frozenset({"method": "GET", "route": "/api/crm/brands", "le": "+Inf"}.items())
    assert samples[("dealpilot_http_request_duration_seconds_bucket", duration)] >= 1


def test_pixels_answered_before_the_router_are_counted_like_any_route(engine: Engine) -> None:
    secret = "pixel-secret-for-metrics"
    tracker = Tracker("http://api.test", secret)
    with api(engine, TRACKING_SECRET=secret) as client:
        good = client.get(urlsplit(tracker.open_url(424242)).path)  # the fast path
        forged = client.get(urlsplit(Tracker("http://x", "no").open_url(424242)).path)  # the route
        click = client.get(
            urlsplit(tracker.click_url(424242, "https://codeteki.au/")).path,
            follow_redirects=False,
        )
        samples = scrape(client.get("/metrics").text)
    assert (good.status_code, good.headers["content-type"]) == (200, "image/gif")
    assert "no-store" in good.headers["cache-control"]
    assert len(good.headers["X-Request-ID"]) == 32
    assert_error(forged, 404)
    assert (click.status_code, click.headers["location"]) == (302, "https://codeteki.au/")

    def count(route: str, status: str) -> float:
        labels = {"method": "GET", "route": route, "status": status}
        return samples[("dealpilot_http_requests_total", frozenset(labels.items()))]

    assert count("/api/crm/track/open/{token}.gif", "200") >= 1
    assert count("/api/crm/track/open/{token}.gif", "404") >= 1
    assert count("/api/crm/track/click/{token}", "302") >= 1


def test_metrics_token_and_switch(engine: Engine) -> None:
    with api(engine, METRICS_TOKEN="scrape-me-3c1") as client:
        # The CRM API key is not the metrics token.
        assert_error(client.get("/metrics"), 401, "unauthorized")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert_error(wrong, 401, "unauthorized")
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-3c1"})
        assert ok.status_code == 200
        assert "dealpilot_ledger_up 1.0" in ok.text
    with api(engine, METRICS_ENABLED="false") as client:
        assert_error(client.get("/metrics"), 404)


def test_ledger_series_count_emails_by_brand_provider_and_ai_by_model(
    engine: Engine, session: Session
) -> None:
    brand = make_brand(session, slug="metrics-co")
    pipeline = make_pipeline(session, brand=brand)
    deal = make_deal(session, contact=make_contact(session, brand=brand), pipeline=pipeline)
    for status in (EmailStatus.sent, EmailStatus.sent, EmailStatus.failed):
        log = make_email_log(session, deal=deal, status=status)
        log.provider = "zeptomail"
        session.add(log)
    session.add(
        AIDecisionLog(
            decision_type="compose_email", model="gpt-4o", prompt_tokens=1000, completion_tokens=500
        )
    )
    session.add(AIDecisionLog(decision_type="score_lead", model="mystery-9", prompt_tokens=7))
    session.commit()

    with api(engine) as client:
        samples = scrape(client.get("/metrics").text)

    def sample(name: str, **labels: str) -> float:
        return samples[(name, frozenset(labels.items()))]

    emails = "dealpilot_ledger_emails"
    assert sample(emails, brand="metrics-co", provider="zeptomail", status="sent") == 2
    assert sample(emails, brand="metrics-co", provider="zeptomail", status="failed") == 1
    assert sample("dealpilot_ledger_ai_calls_total", model="gpt-4o") == 1
    assert sample("dealpilot_ledger_ai_tokens_total", model="gpt-4o", kind="prompt") == 1000
    assert sample("dealpilot_ledger_ai_tokens_total", model="gpt-4o", kind="completion") == 500
    assert sample("dealpilot_ledger_ai_cost_usd_total", model="gpt-4o") == pytest.approx(0.0075)
    assert sample("dealpilot_ledger_ai_tokens_total", model="mystery-9", kind="prompt") == 7
    assert sample("dealpilot_ledger_ai_cost_usd_total", model="mystery-9") == 0
    assert sample("dealpilot_ledger_ai_model_priced", model="mystery-9") == 0


def test_webhook_intake_is_counted_by_source_and_outcome(engine: Engine) -> None:
    secret = "webhook-secret-for-metrics"
    body = json.dumps(
        {
            "from": "stranger@example.org",
            "to": "hello@nowhere.example",
            "subject": "Re: hi",
            "text": "Who is this?",
            "message_id": "<metrics-reply@example.org>",
        }
    ).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Dealpilot-Timestamp": stamp,
        "X-Dealpilot-Signature": "sha256=" + sign_dealpilot(body, stamp, secret),
    }
    unmatched = total("dealpilot_intake_events_total", outcome="unmatched")
    duplicate = total("dealpilot_intake_events_total", outcome="duplicate")
    with api(engine, DEALPILOT_WEBHOOK_SECRET=secret) as client:
        first = client.post("/api/crm/webhooks/reply", content=body, headers=headers)
        again = client.post("/api/crm/webhooks/reply", content=body, headers=headers)
        stale = headers | {"X-Dealpilot-Timestamp": "1"}
        forged = client.post("/api/crm/webhooks/reply", content=body, headers=stale)
        page = client.get("/metrics").text
        # Matched (here: found to match nothing) by the app's relay, after the answer.
        wait_until(
            lambda: total("dealpilot_intake_events_total", outcome="unmatched") > unmatched,
            timeout=30,
            what="the relay to settle the reply",
        )
    assert first.json() == {"received": 1, "new": 1}
    assert again.json()["new"] == 0
    assert forged.status_code == 401
    assert total("dealpilot_intake_events_total", outcome="unmatched") == unmatched + 1
    assert total("dealpilot_intake_events_total", outcome="duplicate") == duplicate + 1
    refused = frozenset(
        {"method": "POST", "route": "/api/crm/webhooks/reply", "status": "401"}.items()
    )
    assert scrape(page)[("dealpilot_http_requests_total", refused)] >= 1


def test_secret_values_never_reach_the_exposition(engine: Engine) -> None:
    with api(engine, METRICS_TOKEN="tok-5e7", TRACKING_SECRET="trk-9a1") as client:
        text = client.get("/metrics", headers={"Authorization": "Bearer tok-5e7"}).text
    assert "tok-5e7" not in text
    assert "trk-9a1" not in text
