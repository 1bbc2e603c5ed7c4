"""The automatic A/B winner (issue 14, item 7) on PostgreSQL, through the REST API and the
daily engagement scan's code: a known history of sends and replies per variant; the winner is
promoted only when the two-proportion z-test says so, with its figures in the decision log."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from dealpilot.deals.ab_winner import two_proportion_z
from dealpilot.deals.tier_scan import scan_brand
from models import (
    AIDecisionLog,
    EmailLog,
    EmailStatus,
    Pipeline,
    PipelineStage,
    session_scope,
    utcnow,
)
from models.uow import UnitsOfWork
from tests.factories import make_brand, make_pipeline, stages_of

A, B = "Grow your listings", "Priya, more buyers this month?"


def _stage(engine: Engine, slug: str = "acme") -> tuple[int, str]:
    with session_scope(engine) as s:
        brand = make_brand(s, slug=slug)
        pipeline = make_pipeline(s, brand=brand)
        stage = next(iter(stages_of(s, pipeline).values()))
        stage.subject, stage.subject_variant_b = A, B
        stage.ab_started_at = utcnow() - timedelta(days=20)
        s.add(stage)
        return stage.id or 0, brand.slug


def _history(engine: Engine, stage_id: int, variant: str, sends: int, replies: int, **flags: bool):
    """`sends` sent emails of the variant, the first `replies` of them replied to."""
    with session_scope(engine) as s:
        stage = s.get(PipelineStage, stage_id)
        assert stage is not None
        pipeline = s.get(Pipeline, stage.pipeline_id)
        assert pipeline is not None
        brand_id = pipeline.brand_id
        s.add_all(
            EmailLog(
                idempotency_key=f"ab-{stage_id}-{variant}-{i}",
                brand_id=brand_id,
                stage_id=stage_id,
                to_email=f"{variant.lower()}{i}@example.com",
                subject=A if variant == "A" else B,
                variant=variant,
                status=EmailStatus.sent,
                sent_at=utcnow() - timedelta(days=10),
                replied=i < replies,
                **flags,
            )
            for i in range(sends)
        )


def _decisions(engine: Engine) -> list[AIDecisionLog]:
    with Session(engine) as s:
        return list(s.exec(select(AIDecisionLog).where(AIDecisionLog.decision_type == "ab_winner")))


def test_the_z_test_matches_the_textbook_figures() -> None:
    # 5/100 against 20/100: pooled 0.125, se sqrt(0.125 * 0.875 * 0.02)
    z, p = two_proportion_z(5, 100, 20, 100)
    assert round(z, 4) == round(0.15 / math.sqrt(0.125 * 0.875 * 0.02), 4) == 3.2071
    assert round(p, 5) == 0.00134
    assert two_proportion_z(0, 100, 0, 100) == (0.0, 1.0)  # no replies at all: no evidence


def test_a_significant_history_promotes_b_and_logs_its_figures(
    engine: Engine, client: TestClient
) -> None:
    stage_id, _slug = _stage(engine)
    _history(engine, stage_id, "A", 100, 5)
    _history(engine, stage_id, "B", 100, 20)
    before = client.get(f"/api/crm/stages/{stage_id}/ab/").json()
    assert before["test"]["verdict"] == "B"
    assert (before["test"]["a"]["sends"], before["test"]["a"]["replies"]) == (100, 5)
    assert (before["test"]["b"]["sends"], before["test"]["b"]["replies"]) == (100, 20)
    assert before["subject"] == A  # nothing changes by looking

    r = client.post(f"/api/crm/stages/{stage_id}/ab/decide/")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["promoted"] is True
    assert (body["subject"], body["subject_variant_b"], body["test"]) == (B, None, None)
    [decided] = body["history"]
    assert (decided["winner"], decided["winner_subject"], decided["retired_subject"]) == ("B", B, A)
    [row] = _decisions(engine)
    assert row.action_taken == "promoted:B"
    assert {k: row.meta[k] for k in ("z", "p_value", "confidence", "min_sends", "signal")} == {
        "z": 3.2071,
        "p_value": 0.001341,
        "confidence": 0.9987,
        "min_sends": 100,
        "signal": "replies",
    }
    assert row.meta["a"] == {"variant": "A", "subject": A, "sends": 100, "replies": 5, "rate": 0.05}
    assert row.meta["b"]["rate"] == 0.2
    # Idempotent: deciding again finds no test, changes nothing and logs nothing.
    again = client.post(f"/api/crm/stages/{stage_id}/ab/decide/").json()
    assert again["promoted"] is False
    assert len(_decisions(engine)) == 1

    # A new challenger is counted from its start: the old sends are not its figures.
    r = client.post(f"/api/crm/stages/{stage_id}/ab/challenger/", json={"subject": "Third try"})
    assert r.status_code == 201, r.text
    fresh = r.json()
    assert (fresh["subject"], fresh["subject_variant_b"]) == (B, "Third try")
    assert (fresh["test"]["a"]["sends"], fresh["test"]["b"]["sends"]) == (0, 0)
    assert fresh["test"]["verdict"] == "waiting_for_sends"
    busy = client.post(f"/api/crm/stages/{stage_id}/ab/challenger/", json={"subject": "Fourth"})
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "ab_test_running"


def test_a_history_that_is_not_significant_changes_nothing(
    engine: Engine, client: TestClient
) -> None:
    stage_id, _slug = _stage(engine)
    # Machine opens and clicks everywhere on A: they are not the signal.
    _history(engine, stage_id, "A", 100, 8, machine_opened=True, clicked=True)
    _history(engine, stage_id, "B", 100, 12)
    body = client.post(f"/api/crm/stages/{stage_id}/ab/decide/").json()
    assert body["promoted"] is False
    assert (body["subject"], body["subject_variant_b"]) == (A, B)
    assert body["test"]["verdict"] == "not_significant"
    assert body["test"]["z"] == round(0.04 / math.sqrt(0.1 * 0.9 * 0.02), 4) == 0.9428
    assert body["test"]["p_value"] == 0.345779
    assert _decisions(engine) == []


def test_below_the_send_threshold_nothing_changes_and_the_threshold_is_per_stage(
    engine: Engine, client: TestClient
) -> None:
    stage_id, slug = _stage(engine)
    _history(engine, stage_id, "A", 99, 0)
    _history(engine, stage_id, "B", 100, 30)  # a huge difference, but A has 99 sends
    seen: list[tuple[int, str]] = []

    async def signal(deal_id: int, tier: str) -> bool:
        seen.append((deal_id, tier))
        return True

    report = asyncio.run(scan_brand(UnitsOfWork(engine), signal, slug, utcnow()))
    assert report.ab_promoted == []
    body = client.get(f"/api/crm/stages/{stage_id}/ab/").json()
    assert body["test"]["verdict"] == "waiting_for_sends"
    assert (body["subject"], body["subject_variant_b"]) == (A, B)
    assert _decisions(engine) == []

    # The stage's own threshold (PATCH ab_min_sends): 99 sends per variant now suffice, and
    # the daily scan promotes B.
    r = client.patch(f"/api/crm/stages/{stage_id}/", json={"ab_min_sends": 99})
    assert r.status_code == 200, r.text
    report = asyncio.run(scan_brand(UnitsOfWork(engine), signal, slug, utcnow()))
    assert report.ab_promoted == [stage_id]
    [row] = _decisions(engine)
    assert (row.meta["a"]["sends"], row.meta["b"]["replies"], row.meta["min_sends"]) == (99, 30, 99)
    assert seen == []  # no deals in this brand: no tier signals
