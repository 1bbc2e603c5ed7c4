"""Every analytics figure of a known history (tests/analytics/history.py), on SQLite and
PostgreSQL: the funnel, email performance, A/B tests, engagement and revenue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from dealpilot.accounts import BrandScope
from dealpilot.analytics import (
    Filters,
    ab_tests,
    email_performance,
    engagement,
    funnel,
    resolve,
    revenue,
)
from dealpilot.analytics.emails import COUNTS
from dealpilot.core.metrics import PriceTable
from tests.analytics.history import History, build

MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def known(any_engine: Engine) -> Iterator[tuple[Session, History]]:
    with Session(any_engine, expire_on_commit=False) as session:
        yield session, build(session)


def march(s: Session, h: History, *, brand: str | None = "codeteki") -> Filters:
    return resolve(
        s, BrandScope.everything(), brand=brand, pipeline=None, today=date(2026, 4, 1), **MARCH
    )


def test_funnel(known: tuple[Session, History]) -> None:
    s, h = known
    result = funnel(s, march(s, h))
    (sales,) = result.pipelines
    assert (sales.pipeline_name, sales.deals, sales.open, sales.won, sales.lost) == (
        "Sales",
        5,
        2,
        1,
        2,
    )
    assert sales.win_rate == 0.3333
    assert [(r.reason, r.deals) for r in sales.lost_reasons] == [
        ("ghost", 1),
        ("not interested", 1),
    ]
    rows = [
        (x.slug, x.reached, x.converted, x.conversion_rate, x.stays_ended, x.median_hours)
        for x in sales.stages
    ]
    assert rows == [
        ("invited", 5, 2, 0.4, 4, 36.0),
        ("follow-up-1", 2, 1, 0.5, 2, 60.0),
        ("responded", 2, 1, 0.5, 1, 24.0),
        ("won", 1, 0, 0.0, 0, None),
        ("lost", 2, 0, 0.0, 0, None),
    ]
    st = h.stages
    assert [x.next_stage_id for x in sales.stages] == [
        st["follow-up-1"].id,
        st["responded"].id,
        st["won"].id,
        None,
        None,
    ]
    # Without a brand (the API key): the other brand's pipeline too, its one deal at Invited.
    both = funnel(s, march(s, h, brand=None))
    assert [(p.pipeline_name, p.deals, p.stages[0].reached) for p in both.pipelines] == [
        ("Sales", 5, 5),
        ("Directory", 1, 1),
    ]


def figures(f: object) -> tuple[int, ...]:
    """A row's counts in the order of the CSV's columns (`emails.COUNTS`)."""
    return tuple(getattr(f, n) for n in COUNTS)


def test_email_performance(known: tuple[Session, History]) -> None:
    s, h = known
    r = email_performance(s, march(s, h))
    assert figures(r.total) == (7, 6, 3, 2, 1, 2, 1, 1, 1, 1)
    t = r.total
    assert (t.delivery_rate, t.open_rate, t.machine_open_rate, t.click_rate, t.reply_rate) == (
        0.8571,
        0.4286,
        0.2857,
        0.1429,
        0.2857,
    )
    assert (t.positive_reply_rate, t.bounce_rate, t.complaint_rate, t.unsubscribe_rate) == (
        0.1429,
        0.1429,
        0.1429,
        0.1429,
    )
    assert [(f.label, figures(f)) for f in r.by_brand] == [
        ("codeteki", (7, 6, 3, 2, 1, 2, 1, 1, 1, 1))
    ]
    assert [(f.label, figures(f)) for f in r.by_pipeline] == [
        ("Sales", (7, 6, 3, 2, 1, 2, 1, 1, 1, 1))
    ]
    assert [(f.label, figures(f)) for f in r.by_stage] == [
        ("Sales · Invited", (5, 4, 2, 1, 1, 2, 1, 1, 0, 1)),
        ("Sales · Follow-up 1", (2, 2, 1, 1, 0, 0, 0, 0, 1, 0)),
    ]
    assert [(f.label, figures(f)) for f in r.by_template] == [
        ("AI-written", (1, 1, 1, 1, 0, 0, 0, 0, 0, 0)),
        ("Follow-up 1 (stage template)", (1, 1, 0, 0, 0, 0, 0, 0, 1, 0)),
        ("codeteki/sales/invited", (5, 4, 2, 1, 1, 2, 1, 1, 0, 1)),
    ]
    assert [(f.label, figures(f)) for f in r.by_variant] == [
        ("Variant A", (3, 2, 2, 1, 1, 1, 1, 1, 0, 0)),
        ("Variant B", (4, 4, 1, 1, 0, 1, 0, 0, 1, 1)),
    ]
    days = {f.key: f.sent for f in r.by_day}
    assert len(days) == 31
    assert sum(days.values()) == 7
    assert (days["2026-03-02"], days["2026-03-03"], days["2026-03-04"]) == (3, 2, 2)
    # Every brand (the API key): the other brand's opened email is counted too.
    assert figures(email_performance(s, march(s, h, brand=None)).total) == (
        8,
        7,
        4,
        2,
        1,
        2,
        1,
        1,
        1,
        1,
    )
    # One pipeline, and a range holding only 3 March.
    one = resolve(
        s,
        BrandScope.everything(),
        start="2026-03-03",
        end="2026-03-03",
        brand=None,
        pipeline=h.sales.id,
        today=date(2026, 4, 1),
    )
    assert figures(email_performance(s, one).total) == (2, 1, 0, 0, 0, 0, 0, 1, 0, 1)


def test_ab_tests(known: tuple[Session, History]) -> None:
    s, h = known
    r = ab_tests(s, march(s, h))
    assert "two-proportion z-test" in r.method
    invited, fu1 = r.tests
    assert (invited.stage_name, invited.subject_a, invited.subject_b, invited.running) == (
        "Invited",
        "Hi {{ contact.first_name }}",
        "Quick idea",
        True,
    )
    assert (invited.a.sent, invited.a.replied, invited.a.clicked) == (2, 1, 1)
    assert (invited.b.sent, invited.b.replied, invited.b.clicked, invited.b.unsubscribed) == (
        3,
        1,
        0,
        1,
    )
    rep = invited.replies
    assert (rep.rate_a, rep.rate_b, rep.leader, rep.z, rep.p_value, rep.confidence) == (
        0.5,
        0.3333,
        "A",
        -0.3727,
        0.7094,
        0.2906,
    )
    clk = invited.clicks
    assert (clk.leader, clk.z, clk.p_value, clk.confidence) == ("A", -1.3693, 0.1709, 0.8291)
    # Follow-up 1 has no subject B, but a B email went out: shown, not running.
    assert (fu1.stage_name, fu1.running, fu1.a.sent, fu1.b.sent, fu1.b.complained) == (
        "Follow-up 1",
        False,
        1,
        1,
        1,
    )
    assert fu1.replies.confidence == 0.0
    assert fu1.replies.z is None
    assert [(d.decision_type, d.action_taken) for d in r.decided] == [("ab_winner", "promoted B")]
    everyone = ab_tests(s, march(s, h, brand=None))
    assert sorted(d.action_taken for d in everyone.decided) == ["promoted A", "promoted B"]


def test_engagement(known: tuple[Session, History]) -> None:
    s, h = known
    r = engagement(s, march(s, h))
    (sales,) = r.pipelines
    assert sales.deals == 5
    assert {t.tier: (t.deals, t.share) for t in sales.tiers if t.deals} == {
        "engaged": (2, 0.4),
        "ghost": (1, 0.2),
        "cold": (1, 0.2),
        "new": (1, 0.2),
    }
    assert r.decision_totals == {"ghost": 1, "burnout": 1, "change_approach": 1}
    busy = {
        d.day.isoformat(): (d.ghost, d.burnout, d.change_approach)
        for d in r.decisions
        if d.ghost or d.burnout or d.change_approach
    }
    assert busy == {"2026-03-05": (0, 1, 1), "2026-03-07": (1, 0, 0)}
    assert len(r.decisions) == 31
    assert engagement(s, march(s, h, brand=None)).decision_totals["ghost"] == 2


def test_revenue(known: tuple[Session, History]) -> None:
    s, h = known
    r = revenue(s, march(s, h), PriceTable().cost)
    (p,) = r.pipelines
    assert (p.deals, p.deals_without_value, p.open_deals, p.won_deals, p.lost_deals) == (
        5,
        1,
        2,
        1,
        2,
    )
    assert (p.open_value, p.forecast, p.won_value) == (
        Decimal("650.00"),
        Decimal("212.50"),
        Decimal("1000.00"),
    )
    stages = [
        (x.name, x.probability, x.probability_set, x.open_deals, x.open_value, x.forecast)
        for x in p.stages
    ]
    assert stages == [
        ("Invited", Decimal("0.050"), False, 1, Decimal("250.00"), Decimal("12.50")),
        ("Follow-up 1", Decimal("0.100"), False, 0, Decimal("0.00"), Decimal("0.00")),
        ("Responded", Decimal("0.5"), True, 1, Decimal("400.00"), Decimal("200.00")),
        ("Won", Decimal("1.000"), False, 0, Decimal("0.00"), Decimal("0.00")),
        ("Lost", Decimal("0.000"), False, 0, Decimal("0.00"), Decimal("0.00")),
    ]
    assert (p.ai_calls, p.ai_prompt_tokens, p.ai_completion_tokens) == (6, 3150, 1620)
    assert (p.ai_cost_usd, p.unpriced_models) == (0.00135, ["mystery-model"])
    assert (p.emails_sent, p.ai_cost_per_won_deal, p.emails_per_won_deal) == (7, 0.00135, 7.0)
    assert p.won_value_per_ai_usd == 740740.74
    assert (r.open_value, r.forecast, r.won_value, r.emails_sent) == (
        Decimal("650.00"),
        Decimal("212.50"),
        Decimal("1000.00"),
        7,
    )
