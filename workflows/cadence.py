"""How long a deal waits before its next follow-up: the stage's `days_until_followup`, scaled by
the deal's engagement tier (the original system's rules), and what a refreshed tier does to a
deal that is already waiting. Pure functions of the deal's memory, as in workflows.autopilot.

| tier    | rule                 | wait before the next follow-up          |
| engaged | short waits          | x 0.5                                   |
| hot     | send promptly        | x 0.5                                   |
| warm    | normal               | x 1                                     |
| new     | normal               | x 1                                     |
| lurker  | change approach      | x 1 (the AI is told the tier and writes |
|         |                      | a different angle: `stage_goal`)        |
| cold    | extend waits         | x 1.5                                   |
| ghost   | stop                 | the autopilot's ghost guard closes it   |

The wait after the final follow-up (before the deal closes as not interested) is always the
stage's own: a keen contact is never closed sooner, nor a cold one kept longer.

A one-off composer email's deal (`memory.one_off`) waits for nothing: no follow-up is planned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from dealpilot.core.enums import DealStatus, EngagementTier
from workflows import rules, sequences
from workflows.deal_memory import DealMemory, note
from workflows.effects import Schedule

TIER_WAIT_FACTOR: dict[str, float] = {
    EngagementTier.engaged: 0.5,
    EngagementTier.hot: 0.5,
    EngagementTier.warm: 1.0,
    EngagementTier.new: 1.0,
    EngagementTier.lurker: 1.0,
    EngagementTier.cold: 1.5,
    EngagementTier.ghost: 1.0,
}
ONE_OFF_REASON = "one-off email: no follow-ups"


def factor(tier: str) -> float:
    return TIER_WAIT_FACTOR.get(tier, 1.0)


def tier_wait(base_days: int, tier: str) -> timedelta:
    return timedelta(days=base_days) * factor(tier)


def follow_up(
    m: DealMemory,
    stages: Sequence[rules.StageInfo],
    stage: rules.StageInfo,
    now: datetime,
    *,
    by_tier: bool,
) -> Schedule:
    """The wake for the next follow-up after entering sequence stage `stage`. `by_tier` False:
    the stage's own wait (what deals recorded before tiers set the cadence still do)."""
    if m.one_off:
        return Schedule(None, ONE_OFF_REASON)
    if m.sequence is not None:  # the operator's waits, as snapshotted
        return sequences.follow_up(m, stage, now)
    wait = stage.days_until_followup or 0
    scaled, final = follow_up_wait(stages, stage, m.tier, by_tier=by_tier)
    label = "final follow-up expires" if final else "next follow-up"
    if final or not by_tier:
        return Schedule(now + scaled, f"{label} ({wait} days without a reply)")
    text = f"{label} ({_days(scaled)} without a reply, {m.tier} tier)"
    return Schedule(now + scaled, text, follow_up_days=wait)


def follow_up_wait(
    stages: Sequence[rules.StageInfo], stage: rules.StageInfo, tier: str, *, by_tier: bool
) -> tuple[timedelta, bool]:
    """How long a deal that entered `stage` waits for a reply, and whether `stage` is the final
    follow-up (also the campaign forecast's wait, dealpilot.deals.forecast)."""
    wait = stage.days_until_followup or 0
    final = rules.is_final_sequence_stage(stages, stage.id)
    if final or not by_tier:
        # The last wait before closing is the stage's own: a keen contact is not closed sooner.
        return timedelta(days=wait), final
    return tier_wait(wait, tier), final


def retier(m: DealMemory, tier: str, now: datetime) -> bool:
    """A refreshed tier (the daily engagement scan). True when the deal's next follow-up moved
    (its tier changed the cadence): only then is the sleeping deal's timer replanned."""
    old, m.tier = m.tier, tier
    if old == tier or m.status != DealStatus.active or m.follow_up_days is None:
        return False
    if factor(old) == factor(tier) or m.next_action_at is None:
        return False
    at = m.stage_entered_at + tier_wait(m.follow_up_days, tier)
    if at == m.next_action_at:
        return False
    m.next_action_at = max(at, now)
    m.next_action_reason = f"follow-up replanned: {old} \u2192 {tier} tier"
    note(m, now, "wait", f"Tier {old} \u2192 {tier}: next follow-up {m.next_action_at:%Y-%m-%d}")
    return True


def _days(wait: timedelta) -> str:
    n = wait / timedelta(days=1)
    return f"{n:g} day" if n == 1 else f"{n:g} days"
