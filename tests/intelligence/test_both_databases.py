"""The figures behind the guard, the A/B winner and the forecast on SQLite (the development
default) and PostgreSQL alike: the same counts from the same rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from dealpilot.deals import ab_winner, deliverability, forecast
from models import (
    Brand,
    EmailEvent,
    EmailEventType,
    EmailLog,
    EmailStatus,
    PipelineStage,
    session_scope,
    utcnow,
)
from tests.factories import make_brand, make_contact, make_pipeline, stages_of
from tests.intelligence.test_guard_rollup import counted


def test_guard_ab_and_forecast_queries_agree_on_both_databases(any_engine: Engine) -> None:
    now = utcnow()
    with session_scope(any_engine) as s:
        brand = make_brand(s, slug="both-co", min_gap_seconds=0)
        pipeline = make_pipeline(s, brand=brand)
        stage = next(iter(stages_of(s, pipeline).values()))
        stage.subject, stage.subject_variant_b, stage.ab_min_sends = "One", "Two", 10
        s.add(stage)
        for i in range(30):
            s.add(
                EmailLog(
                    idempotency_key=f"both-{i}",
                    brand_id=brand.id or 0,
                    stage_id=stage.id,
                    to_email=f"p{i}@{'a.example' if i < 20 else 'b.example'}",
                    subject="x",
                    variant="A" if i % 2 else "B",
                    status=EmailStatus.sent,
                    sent_at=now - timedelta(days=1),
                    bounced=i == 3,
                    replied=i % 2 == 0 and i < 12,
                )
            )
        s.add(
            EmailEvent(
                brand_id=brand.id,
                event_type=EmailEventType.unsubscribe,
                source="webhook",
                dedupe_key="u",
                email="p5@a.example",
                occurred_at=now,
            )
        )
        contact = make_contact(s, brand=brand, email="new@both.example").id or 0
        brand_id, stage_id, pipeline_id = brand.id or 0, stage.id or 0, pipeline.id or 0
    with session_scope(any_engine) as s:
        row = s.get(Brand, brand_id)
        assert row is not None
        rates = deliverability.brand_rates(s, row, now)
        assert (rates.sends, rates.bounces, rates.complaints, rates.unsubscribes) == (30, 1, 0, 1)
        # From the hourly rollup (migration 0016): what counting the logs gives.
        since = deliverability.window_start(row, now)
        assert (rates.sends, rates.bounces) == counted(s, brand_id, since)
        domains = deliverability.domain_rates(s, row, now)
        assert [(d.scope, d.sends, d.bounces, d.unsubscribes) for d in domains] == [
            ("a.example", 20, 1, 1),
            ("b.example", 10, 0, 0),
        ]
        stage_row = s.get(PipelineStage, stage_id)
        assert stage_row is not None
        test = ab_winner.current_test(s, stage_row)
        assert test is not None
        assert (test.a.sends, test.a.replies, test.b.sends, test.b.replies) == (15, 0, 15, 6)
        assert test.verdict == "B"  # 0/15 against 6/15: p = 0.0062
        assert round(test.p_value, 4) == 0.0062
        planned = forecast.forecast_list(s, pipeline_id, [contact], start=now)
        assert [e.stage_name for e in planned.emails] == ["Follow-up 1"]
