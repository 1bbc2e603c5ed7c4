"""A deal enrolled with an email sequence (an operator's steps with waits and templates): what
it sends next, when, and when it is done. Pure functions of the deal's memory, as in
workflows.autopilot; a deal without a sequence (`memory.sequence` None) never reaches them.

The steps are the snapshot taken at the workflow's start (`DealInput.sequence`), so editing the
sequence later changes new deals only. The deal's k-th email is step k: the first waits its
`delay_days` after enrolment, each next one its `delay_days` after the previous email (no tier
scaling: the operator chose the waits). The deal still walks the pipeline's sequence stages as
it sends (staying in the last one if the steps outnumber them); after the last step it waits
the stage's own `days_until_followup`, and then closes as not interested, as after a final
follow-up. The send window, suppression, ghost and burnout guards apply as always; there is no
AI decision before a step (a person wrote it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from dealpilot.core.enums import StageKind
from workflows import rules
from workflows.contracts import SequencePlan, SequenceStepPlan
from workflows.deal_memory import DealMemory, note, pending_step
from workflows.effects import Schedule

AUTOMATIC = (StageKind.entry, StageKind.sequence)


def begin(m: DealMemory, plan: SequencePlan | None, now: datetime) -> None:
    """At a fresh start: the plan joins the deal's memory, and the first step's wait replaces
    the entry stage's (unless a person's first email goes at once)."""
    if plan is None or not plan.steps:
        return
    m.sequence = plan
    note(m, now, "note", f"Follows the email sequence {plan.name!r} ({len(plan.steps)} steps)")
    if m.next_action_at is not None and m.first_draft_id is None:
        first = plan.steps[0]
        m.next_action_at = now + timedelta(days=first.delay_days)
        m.next_action_reason = _step_reason(m, first)


def is_final(m: DealMemory) -> bool | None:
    """For the autopilot's guard: a sequence deal's last wait ran out once every step went
    (None: no sequence, the pipeline's final stage decides)."""
    if m.sequence is None:
        return None
    return pending_step(m) is None


def next_stage(
    m: DealMemory, stages: Sequence[rules.StageInfo], stage: rules.StageInfo
) -> rules.StageInfo | None:
    """The stage the next email is sent into: the next sequence stage, else (steps left) the
    deal's own; None when nothing is left to send."""
    nxt = rules.next_sequence_stage(stages, stage.id)
    if m.sequence is None:
        return nxt
    if pending_step(m) is None or stage.kind not in AUTOMATIC:
        return None
    return nxt or stage


def follow_up(m: DealMemory, stage: rules.StageInfo, now: datetime) -> Schedule:
    """The wake after a sequence deal's email: the next step's wait, else the stage's own."""
    step = pending_step(m)
    if step is not None:
        return Schedule(now + timedelta(days=step.delay_days), _step_reason(m, step))
    wait = stage.days_until_followup or 0
    return Schedule(
        now + timedelta(days=wait), f"final follow-up expires ({wait} days without a reply)"
    )


def _step_reason(m: DealMemory, step: SequenceStepPlan) -> str:
    plan = m.sequence
    assert plan is not None
    return (
        f"sequence step {m.sequence_sent + 1} of {len(plan.steps)} "
        f"({step.delay_days} days, {plan.name})"
    )
