"""The follow-up's wait per engagement tier, and what a refreshed tier does to a waiting deal
(workflows.cadence): pure functions, no Temporal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dealpilot.core.enums import DealStatus
from workflows import cadence
from workflows.deal_memory import DealMemory
from workflows.rules import StageInfo

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _memory(tier: str, **fields: object) -> DealMemory:
    m = DealMemory(
        deal_id=7,
        brand="codeteki",
        pipeline="Sales",
        contact_email="a@b.com.au",
        contact_name="",
        stage_id=2,
        stage_name="Invited",
        status=DealStatus.active,
        tier=tier,
        stage_entered_at=NOW,
        next_action_at=None,
        next_action_reason="",
    )
    for name, value in fields.items():
        setattr(m, name, value)
    return m


def _stage(id: int, name: str, kind: str, wait: int) -> StageInfo:
    return StageInfo(id, name, name.lower(), id, kind, "none", wait, False, None)


def _stages() -> list[StageInfo]:
    return [
        _stage(1, "Prospect", "entry", 0),
        _stage(2, "Invited", "sequence", 4),
        _stage(3, "Follow-up 1", "sequence", 4),
        _stage(4, "Follow-up 2 (Final)", "sequence", 7),
    ]


@pytest.mark.parametrize(
    ("tier", "days"),
    [("engaged", 2), ("hot", 2), ("warm", 4), ("new", 4), ("lurker", 4), ("cold", 6)],
)
def test_the_follow_up_waits_as_the_tier_says(tier: str, days: int) -> None:
    stages = _stages()
    plan = cadence.follow_up(_memory(tier), stages, stages[1], NOW, by_tier=True)
    assert plan.at == NOW + timedelta(days=days)
    assert plan.follow_up_days == 4


def test_a_one_off_deal_plans_no_follow_up_and_old_deals_keep_the_stage_wait() -> None:
    stages = _stages()
    one_off = _memory("hot", one_off=True)
    assert cadence.follow_up(one_off, stages, stages[1], NOW, by_tier=True).at is None
    old = cadence.follow_up(_memory("cold"), stages, stages[1], NOW, by_tier=False)
    assert old.at == NOW + timedelta(days=4)
    final = cadence.follow_up(_memory("hot"), stages, stages[3], NOW, by_tier=True)
    assert final.at == NOW + timedelta(days=7)  # never closed sooner for being keen
    assert final.follow_up_days is None


def test_a_refreshed_tier_moves_the_timer_only_when_the_cadence_changes() -> None:
    planned = NOW + timedelta(days=4)
    same = _memory("new", next_action_at=planned, follow_up_days=4)
    assert cadence.retier(same, "warm", NOW + timedelta(days=1)) is False  # x1 -> x1
    assert (same.tier, same.next_action_at) == ("warm", planned)

    faster = _memory("warm", next_action_at=planned, follow_up_days=4)
    assert cadence.retier(faster, "hot", NOW + timedelta(days=1)) is True
    assert faster.next_action_at == NOW + timedelta(days=2)

    waiting_for_ai = _memory("new", next_action_at=planned, follow_up_days=None)
    assert cadence.retier(waiting_for_ai, "cold", NOW) is False  # not a follow-up timer
    assert waiting_for_ai.next_action_at == planned
