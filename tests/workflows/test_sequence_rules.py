"""workflows/sequences.py without Temporal: a sequence deal's waits, next stage and end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workflows import autopilot, cadence, sequences
from workflows.contracts import SequencePlan, SequenceStepPlan
from workflows.deal_memory import DealMemory
from workflows.rules import StageInfo

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
ENTRY = StageInfo(1, "New", "new", 0, "entry", "none", 0, False, None)
INVITED = StageInfo(2, "Invited", "invited", 1, "sequence", "send_email", 3, False, "k/i")
FINAL = StageInfo(3, "Final", "final", 2, "sequence", "send_email", 7, False, "k/f")
LOST = StageInfo(4, "Lost", "lost", 3, "lost", "none", None, True, None)
STAGES = [ENTRY, INVITED, FINAL, LOST]
PLAN = SequencePlan(
    sequence_id=9,
    name="Three",
    steps=[SequenceStepPlan(n, d, f"S{n}", "b") for n, d in enumerate((2, 5, 1))],
)


def _memory() -> DealMemory:
    return DealMemory(
        deal_id=1,
        brand="b",
        pipeline="p",
        contact_email="a@b.c",
        contact_name="",
        stage_id=ENTRY.id,
        stage_name=ENTRY.name,
        status="active",
        tier="new",
        stage_entered_at=NOW,
        next_action_at=NOW,
        next_action_reason="first email",
    )


def test_the_first_step_waits_its_days_and_each_next_its_own() -> None:
    m = _memory()
    sequences.begin(m, PLAN, NOW)
    assert m.next_action_at == NOW + timedelta(days=2)
    assert m.next_action_reason == "sequence step 1 of 3 (2 days, Three)"
    assert sequences.pending_step(m) == PLAN.steps[0]
    m.sequence_sent = 1
    m.tier = "cold"  # no tier scaling: the operator's waits
    wake = cadence.follow_up(m, STAGES, INVITED, NOW, by_tier=True)
    assert (wake.at, wake.follow_up_days) == (NOW + timedelta(days=5), None)
    assert sequences.is_final(m) is False


def test_steps_beyond_the_stages_stay_in_the_last_and_then_it_ends() -> None:
    m = _memory()
    sequences.begin(m, PLAN, NOW)
    assert sequences.next_stage(m, STAGES, ENTRY) == INVITED
    m.sequence_sent = 2
    assert sequences.next_stage(m, STAGES, FINAL) == FINAL  # one step left: sent in place
    m.sequence_sent = 3
    assert sequences.next_stage(m, STAGES, FINAL) is None
    assert sequences.is_final(m) is True
    wake = sequences.follow_up(m, FINAL, NOW)
    assert (wake.at, wake.reason) == (
        NOW + timedelta(days=7),
        "final follow-up expires (7 days without a reply)",
    )


def test_a_deal_without_a_sequence_is_left_to_its_stages() -> None:
    m = _memory()
    sequences.begin(m, None, NOW)
    sequences.begin(m, SequencePlan(1, "empty", []), NOW)
    assert (m.sequence, m.next_action_at) == (None, NOW)
    assert sequences.is_final(m) is None
    assert sequences.next_stage(m, STAGES, FINAL) is None
    assert sequences.next_stage(m, STAGES, ENTRY) == INVITED
    assert autopilot.stage_of(STAGES, FINAL.id) == FINAL
