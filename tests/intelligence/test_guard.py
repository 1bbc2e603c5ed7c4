"""The deliverability guard's figures and limits on PostgreSQL (issue 14, item 8), and where a
person sees a pause: the console's Today page (with its resume button), the daily summary,
`/metrics` and the REST API. The workflow side is tests/intelligence/test_guard_workflows.py."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dealpilot.core import metrics
from dealpilot.deals import deliverability
from dealpilot.reporting.daily import DailyReview
from models import (
    AIDecisionLog,
    Brand,
    DailySummary,
    EmailEvent,
    EmailEventType,
    EmailLog,
    EmailStatus,
    session_scope,
    utcnow,
)
from tests.console.helpers import ADMIN, DESI_OPERATOR, login, token
from tests.factories import make_brand
from workflows.jobs import DraftReminder, RescoreResult, StuckResult, SummaryRequest


def _sends(
    engine: Engine, brand_id: int, n: int, *, bounced: int = 0, domain: str = "example.com"
) -> None:
    """`n` sends a day ago, the first `bounced` of them bounced."""
    with session_scope(engine) as s:
        start = s.exec(select(EmailLog.id).order_by(col(EmailLog.id).desc())).first() or 0
        s.add_all(
            EmailLog(
                idempotency_key=f"guard-{brand_id}-{start}-{i}",
                brand_id=brand_id,
                to_email=f"r{i}@{domain}",
                subject="Hi",
                status=EmailStatus.sent,
                sent_at=utcnow() - timedelta(days=1),
                bounced=i < bounced,
            )
            for i in range(n)
        )


def _event(engine: Engine, brand_id: int, kind: EmailEventType, email: str, key: str) -> None:
    with session_scope(engine) as s:
        s.add(
            EmailEvent(
                brand_id=brand_id,
                event_type=kind,
                source="webhook",
                dedupe_key=key,
                email=email,
                occurred_at=utcnow() - timedelta(hours=2),
            )
        )


def _brand(engine: Engine, slug: str) -> int:
    with session_scope(engine) as s:
        return make_brand(s, slug=slug).id or 0


def _gate(engine: Engine, brand_id: int) -> str | None:
    """A send attempt's check; the deferral's detail, or None (the send may go)."""
    with session_scope(engine) as s:
        brand = s.get(Brand, brand_id)
        assert brand is not None
        outcome = deliverability.gate(s, brand, deal_id=7, now=utcnow())
        return None if outcome is None else outcome.detail


def _paused_count(brand: str, cause: str) -> float:
    return metrics.BRAND_PAUSES.labels(brand, cause)._value.get()


def test_bounces_pause_only_over_two_percent_with_twenty_sends(engine: Engine) -> None:
    small = _brand(engine, "small-co")
    _sends(engine, small, 19, bounced=1)  # 5.3%, but fewer than 20 sends
    assert _gate(engine, small) is None
    at_limit = _brand(engine, "limit-co")
    _sends(engine, at_limit, 50, bounced=1)  # exactly 2.0%: not over it
    assert _gate(engine, at_limit) is None

    before = _paused_count("small-co", "bounces")
    _sends(engine, small, 1)  # 20 sends, 1 bounced: 5.0%
    detail = _gate(engine, small)
    assert detail == (
        "sending paused for Small-Co: bounce rate 5.0% (1 of 20 sends in 7 days) is over 2%"
    )
    assert _paused_count("small-co", "bounces") == before + 1
    assert _gate(engine, small) == detail  # stays paused: no second pause, no second log
    with Session(engine) as s:
        [row] = s.exec(
            select(AIDecisionLog).where(AIDecisionLog.decision_type == "deliverability_pause")
        ).all()
    assert row.brand_id == small
    assert (row.meta["sends"], row.meta["bounces"], row.meta["bounce_rate"]) == (20, 1, 0.05)
    assert _paused_count("small-co", "bounces") == before + 1


def test_complaints_pause_over_a_tenth_of_a_percent(engine: Engine) -> None:
    ok = _brand(engine, "thousand-co")
    _sends(engine, ok, 1000)
    _event(engine, ok, EmailEventType.complaint, "r1@example.com", "c-ok")  # 0.1%: not over
    assert _gate(engine, ok) is None
    over = _brand(engine, "nine-co")
    _sends(engine, over, 999)
    _event(engine, over, EmailEventType.complaint, "r1@example.com", "c-over")  # 0.1001%
    assert _gate(engine, over) == (
        "sending paused for Nine-Co: complaint rate 0.10% (1 of 999 sends in 7 days) is over 0.1%"
    )


def test_rates_per_brand_and_recipient_domain_over_the_window(
    engine: Engine, client: TestClient
) -> None:
    brand_id = _brand(engine, "rates-co")
    _sends(engine, brand_id, 30, bounced=1, domain="gmail.com")
    _sends(engine, brand_id, 10, bounced=2, domain="bigpond.net.au")
    _event(engine, brand_id, EmailEventType.unsubscribe, "r3@gmail.com", "u1")
    _event(engine, brand_id, EmailEventType.unsubscribe, "r3@gmail.com", "u2")  # same address
    _event(engine, brand_id, EmailEventType.complaint, "r4@bigpond.net.au", "c1")
    with session_scope(engine) as s:  # outside the window: 8 days old
        s.add(
            EmailLog(
                idempotency_key="old-1",
                brand_id=brand_id,
                to_email="old@gmail.com",
                subject="Old",
                status=EmailStatus.sent,
                sent_at=utcnow() - timedelta(days=8),
                bounced=True,
            )
        )
    r = client.get(f"/api/crm/brands/{brand_id}/deliverability/")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rates"] == {
        "scope": "rates-co",
        "sends": 40,
        "bounces": 3,
        "complaints": 1,
        "unsubscribes": 1,
        "bounce_rate": 0.075,
        "complaint_rate": 0.025,
        "unsubscribe_rate": 0.025,
    }
    assert [
        (d["scope"], d["sends"], d["bounces"], d["complaints"], d["unsubscribes"])
        for d in body["domains"]
    ] == [
        ("gmail.com", 30, 1, 0, 1),
        ("bigpond.net.au", 10, 2, 1, 0),
    ]
    assert body["paused"] is False  # only a send attempt pauses
    assert client.post(f"/api/crm/brands/{brand_id}/resume-sending/").status_code == 409


def test_today_shows_the_pause_and_an_admin_resumes_it(engine: Engine, browser: TestClient) -> None:
    with Session(engine) as s:
        desi = s.exec(select(Brand).where(Brand.slug == "desifirms")).one().id or 0
    _sends(engine, desi, 25, bounced=2)  # 8.0%
    assert _gate(engine, desi) is not None

    login(browser, DESI_OPERATOR)
    page = browser.get("/console/").text
    assert "Desi Firms: sending paused" in page
    assert "bounce rate 8.0% (2 of 25 sends in 7 days) is over 2%" in page
    assert "An admin resumes it." in page
    assert "Resume sending for" not in page
    browser.post("/console/logout", data={"csrf_token": token(browser)})

    login(browser, ADMIN)
    assert "Resume sending for Desi Firms" in browser.get("/console/").text
    done = browser.post(
        f"/console/brands/{desi}/resume-sending",
        data={"csrf_token": token(browser)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = browser.get("/console/").text
    assert "sending paused" not in page
    assert "Desi Firms sends again" in page
    with Session(engine) as s:
        brand = s.get(Brand, desi)
        assert brand is not None
        assert (brand.sending_paused_at, brand.sending_paused_reason) == (None, "")
        assert brand.sending_resumed_at is not None
        resumed = s.exec(
            select(AIDecisionLog).where(AIDecisionLog.decision_type == "deliverability_resume")
        ).one()
    assert resumed.meta["by"] == ADMIN
    # The window starts at the resume: the bounces that paused it are behind it.
    assert _gate(engine, desi) is None


def test_the_daily_summary_and_metrics_name_the_pause(engine: Engine) -> None:
    brand_id = _brand(engine, "summary-co")
    with session_scope(engine) as s:
        brand = s.get(Brand, brand_id)
        assert brand is not None
        brand.warmup_enabled, brand.warmup_start_cap, brand.daily_cap = True, 20, 200
        s.add(brand)
    _sends(engine, brand_id, 40, bounced=4)
    assert _gate(engine, brand_id) is not None
    at = utcnow()
    with session_scope(engine) as s:
        DailyReview.write_daily_summary(
            s,
            SummaryRequest(
                brand="summary-co",
                at=at,
                rescored=RescoreResult(),
                stuck=StuckResult(),
                drafts=DraftReminder(),
            ),
        )
    with Session(engine) as s:
        row = s.exec(select(DailySummary).where(DailySummary.brand_id == brand_id)).one()
    guard = row.data["deliverability"]
    assert (guard["paused"], guard["sends"], guard["bounces"], guard["bounce_rate"]) == (
        True,
        40,
        4,
        0.1,
    )
    assert guard["paused_reason"] == "bounce rate 10.0% (4 of 40 sends in 7 days) is over 2%"
    assert guard["warmup"]["cap"] == 20
    assert guard["warmup"]["started_on"] == ""  # paused before its first send: not started

    from tests.deploy.test_metrics import api

    with api(engine) as client:
        text = client.get("/metrics").text
    samples = {
        (s.name, s.labels.get("brand")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("dealpilot_brand_sending_paused", "summary-co")] == 1
    assert samples[("dealpilot_brand_daily_cap", "summary-co")] == 20
