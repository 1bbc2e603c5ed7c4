"""The analytics' daily rollups (migration 0016: `dealdaily`, `stagevisitdaily`,
`aispenddaily`, kept by row triggers) on SQLite and PostgreSQL: after deals are created near
midnight, moved back and forth between stages (one at a time and in one statement), won, lost,
valued and revalued, and decisions written, changed and deleted, every rollup row equals what
counting the deals, stays and decisions themselves gives."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from models import (
    AIDecisionLog,
    AISpendDaily,
    Deal,
    DealDaily,
    DealStageVisit,
    DealStatus,
    EngagementTier,
    StageVisitDaily,
    session_scope,
)
from tests.factories import make_brand, make_contact, make_deal, make_pipeline, stages_of


def _nonzero(
    rows: dict[tuple[Any, ...], tuple[int, ...]],
) -> dict[tuple[Any, ...], tuple[int, ...]]:
    return {k: v for k, v in rows.items() if any(v)}


def deal_rollup(s: Session) -> dict[tuple[Any, ...], tuple[int, ...]]:
    return _nonzero(
        {
            (r.day, r.pipeline_id, r.stage_id, r.status, r.engagement_tier, r.lost_reason): (
                r.deals,
                r.valued,
                r.value_cents,
            )
            for r in s.exec(select(DealDaily)).all()
        }
    )


def deals_counted(s: Session) -> dict[tuple[Any, ...], tuple[int, ...]]:
    out: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for d in s.exec(select(Deal)).all():
        reason = d.lost_reason if d.status == DealStatus.lost else ""
        row = out[
            (d.created_at.date(), d.pipeline_id, d.stage_id, d.status, d.engagement_tier, reason)
        ]
        row[0] += 1
        row[1] += d.value is not None
        row[2] += int((d.value or Decimal(0)) * 100)
    return {k: tuple(v) for k, v in out.items()}


def visit_rollup(s: Session) -> dict[tuple[Any, ...], tuple[int, ...]]:
    return _nonzero(
        {
            (r.pipeline_id, r.day, r.stage_id, r.moved_to_stage_id): (r.deals, r.stays)
            for r in s.exec(select(StageVisitDaily)).all()
        }
    )


def visits_counted(s: Session) -> dict[tuple[Any, ...], tuple[int, ...]]:
    deals: dict[tuple[Any, ...], set[int]] = defaultdict(set)
    stays: dict[tuple[Any, ...], int] = defaultdict(int)
    for v in s.exec(select(DealStageVisit)).all():
        key = (v.pipeline_id, v.deal_created_at.date(), v.stage_id)
        deals[(*key, 0)].add(v.deal_id)
        if v.moved_to_stage_id is not None:
            deals[(*key, v.moved_to_stage_id)].add(v.deal_id)
            stays[(*key, v.moved_to_stage_id)] += v.left_at is not None
    return {k: (len(ids), stays.get(k, 0)) for k, ids in deals.items()}


def spend_rollup(s: Session) -> dict[tuple[Any, ...], tuple[int, ...]]:
    return _nonzero(
        {
            (r.day, r.brand_id, r.pipeline_id, r.model): (
                r.calls,
                r.prompt_tokens,
                r.completion_tokens,
            )
            for r in s.exec(select(AISpendDaily)).all()
        }
    )


def spend_counted(s: Session) -> dict[tuple[Any, ...], tuple[int, ...]]:
    out: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for a, pipeline_id in s.exec(
        select(AIDecisionLog, Deal.pipeline_id).join(Deal, col(Deal.id) == AIDecisionLog.deal_id)
    ).all():
        row = out[(a.created_at.date(), a.brand_id or 0, pipeline_id, a.model)]
        row[0] += 1
        row[1] += a.prompt_tokens
        row[2] += a.completion_tokens
    return {k: tuple(v) for k, v in out.items()}


def check(engine: Engine, label: str) -> None:
    with Session(engine) as s:
        assert deal_rollup(s) == deals_counted(s), label
        assert visit_rollup(s) == visits_counted(s), label
        assert spend_rollup(s) == spend_counted(s), label


def test_rollups_equal_the_counts_of_their_rows(any_engine: Engine) -> None:
    midnight = datetime(2026, 3, 10, tzinfo=UTC)
    with session_scope(any_engine) as s:
        brand = make_brand(s, slug="rollups-co")
        pipeline = make_pipeline(s, brand=brand)
        stages = list(stages_of(s, pipeline).values())
        deals = []
        for i in range(12):
            contact = make_contact(s, brand=brand, email=f"r{i}@rollups.example")
            created = midnight + timedelta(microseconds=-1 if i % 2 else 0, hours=-(i % 3) * 7)
            deal = make_deal(
                s,
                contact=contact,
                pipeline=pipeline,
                stage=stages[i % 2],
                value=Decimal("1234.56") if i % 3 else None,
                engagement_tier=EngagementTier.hot if i % 4 == 0 else EngagementTier.new,
                created_at=created,
            )
            deals.append(deal.id or 0)
        for i, deal_id in enumerate(deals):
            s.add(
                AIDecisionLog(
                    brand_id=brand.id if i % 5 else None,
                    deal_id=deal_id,
                    decision_type="analyze_deal",
                    reasoning="r",
                    action_taken="wait",
                    model="gpt-4o-mini" if i % 2 else "rules",
                    prompt_tokens=100 * i,
                    completion_tokens=10 * i,
                    created_at=midnight + timedelta(hours=i - 6),
                )
            )
        s.add(AIDecisionLog(decision_type="x", reasoning="", action_taken="", model="m"))
    check(any_engine, "created")

    with session_scope(any_engine) as s:
        # Moves one at a time: forward, back, forward again (a stage reached twice).
        for step in (2, 1, 2, 3):
            for deal_id in deals[:4]:
                deal = s.get(Deal, deal_id)
                assert deal is not None
                deal.stage_id = stages[step].id or 0
                deal.stage_entered_at = midnight + timedelta(days=step)
                s.add(deal)
            s.flush()
        # One statement moving many deals; won, lost (with and without a reason), revalued.
        s.exec(  # type: ignore[call-overload]
            update(Deal)
            .where(col(Deal.id).in_(deals[4:9]))
            .values(stage_id=stages[-1].id, status=DealStatus.lost, lost_reason="ghost")
        )
        s.exec(  # type: ignore[call-overload]
            update(Deal).where(col(Deal.id) == deals[9]).values(status=DealStatus.lost)
        )
        s.exec(  # type: ignore[call-overload]
            update(Deal)
            .where(col(Deal.id).in_(deals[10:]))
            .values(status=DealStatus.won, value=Decimal("99.99"), engagement_tier="warm")
        )
    check(any_engine, "moved")

    with session_scope(any_engine) as s:
        s.exec(  # type: ignore[call-overload]
            update(AIDecisionLog)
            .where(col(AIDecisionLog.deal_id).in_(deals[:3]))
            .values(model="gpt-4o", prompt_tokens=7)
        )
        s.exec(  # type: ignore[call-overload]
            update(AIDecisionLog).where(col(AIDecisionLog.deal_id) == deals[3]).values(deal_id=None)
        )
        s.exec(  # type: ignore[call-overload]
            delete(AIDecisionLog).where(col(AIDecisionLog.deal_id).in_(deals[4:6]))
        )
        # A deal deleted with its stays and decisions.
        gone = deals[11]
        s.exec(delete(AIDecisionLog).where(col(AIDecisionLog.deal_id) == gone))  # type: ignore[call-overload]
        s.exec(delete(DealStageVisit).where(col(DealStageVisit.deal_id) == gone))  # type: ignore[call-overload]
        s.exec(delete(Deal).where(col(Deal.id) == gone))  # type: ignore[call-overload]
    check(any_engine, "changed and deleted")
