"""Warm-up: a new brand (a new sending domain) ramps its daily cap from a small start to its
target, `Brand.daily_cap`, one step per sending day, and the deliverability guard's numbers
hold the step while the bounce rate is over 1%.

`effective_cap` is THE cap: sending (`dealpilot.deals.sending`) enforces it and the campaign
forecast projects it. The ramp is `warmup_cap`: from `warmup_start_cap`, each step multiplies
the cap by (100 + `warmup_increase_percent`)/100 (integer arithmetic, at least +1), never over
the target. The step (`Brand.warmup_level`) moves at most once per local day of the brand, on
the day's first send attempt (`advance`), so days without sends (weekends) do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from models import AIDecisionLog, Brand

HOLD_BOUNCE_RATE = 0.01  # over this rolling bounce rate, the ramp holds its step


def warmup_cap(start_cap: int, increase_percent: int, target: int, level: int) -> int:
    """The daily cap at step `level` of the ramp (step 0 is the start cap)."""
    cap = min(start_cap, target)
    for _ in range(max(level, 0)):
        if cap >= target:
            break
        cap = max(cap + 1, cap * (100 + increase_percent) // 100)
    return min(cap, target)


def effective_cap(brand: Brand, level: int | None = None) -> int:
    """The brand's daily cap today: its target, or the warm-up's step (`level`, default the
    brand's own) while warming up."""
    if not brand.warmup_enabled:
        return brand.daily_cap
    step = brand.warmup_level if level is None else level
    return warmup_cap(brand.warmup_start_cap, brand.warmup_increase_percent, brand.daily_cap, step)


def day_step(
    level: int, level_on: date, today: date, *, done: bool, bounce_rate: float
) -> tuple[int, date, str]:
    """The ramp on a send attempt on local day `today`: (level, day, what happened), what
    happened being same_day (it moved today already), done (at its target), held (bounce rate
    over HOLD_BOUNCE_RATE) or step. Used by `advance` and by the campaign forecast."""
    if level_on >= today:
        return level, level_on, "same_day"
    if done:
        return level, today, "done"
    if bounce_rate > HOLD_BOUNCE_RATE:
        return level, today, "held"
    return level + 1, today, "step"


def local_day(brand: Brand, now: datetime) -> date:
    return now.astimezone(ZoneInfo(brand.timezone)).date()


@dataclass(frozen=True)
class WarmupStatus:
    enabled: bool
    started_on: date | None
    level: int
    cap: int  # today's cap
    target: int
    done: bool  # the cap reached its target
    progress_percent: int  # cap / target


def status(brand: Brand) -> WarmupStatus:
    cap = effective_cap(brand)
    return WarmupStatus(
        enabled=brand.warmup_enabled,
        started_on=brand.warmup_started_on,
        level=brand.warmup_level,
        cap=cap,
        target=brand.daily_cap,
        done=cap >= brand.daily_cap,
        progress_percent=min(100, round(100 * cap / max(brand.daily_cap, 1))),
    )


def restart(session: Session, brand: Brand, now: datetime) -> None:
    """Starts the ramp again from its first step today (a new sending domain)."""
    brand.warmup_enabled = True
    brand.warmup_started_on = brand.warmup_level_on = local_day(brand, now)
    brand.warmup_level = 0
    session.add(brand)
    session.flush()


def advance(
    session: Session, brand: Brand, now: datetime, *, bounce_rate: float, sends: int
) -> None:
    """On a send attempt, under the brand's row lock: a new local day moves the ramp one step,
    unless the rolling bounce rate (`bounce_rate` of `sends`) is over HOLD_BOUNCE_RATE, which
    holds it. Both are logged in the decision log with their figures."""
    if not brand.warmup_enabled:
        return
    today = local_day(brand, now)
    if brand.warmup_started_on is None or brand.warmup_level_on is None:
        brand.warmup_started_on = brand.warmup_started_on or today
        brand.warmup_level_on = today
        session.add(brand)
        return
    level, _on, move = day_step(
        brand.warmup_level,
        brand.warmup_level_on,
        today,
        done=effective_cap(brand) >= brand.daily_cap,
        bounce_rate=bounce_rate,
    )
    if move == "same_day":
        return
    before = effective_cap(brand)
    brand.warmup_level_on = today
    session.add(brand)
    if move == "done":
        return  # warmed up: nothing left to ramp
    figures = {
        "day": today.isoformat(),
        "level": brand.warmup_level,
        "cap": before,
        "target": brand.daily_cap,
        "bounce_rate": round(bounce_rate, 4),
        "sends": sends,
        "hold_over": HOLD_BOUNCE_RATE,
    }
    if move == "held":
        kind, action = "warmup_hold", f"held:{before}"
        why = (
            f"Warm-up held at {before}/day: bounce rate {bounce_rate:.1%} over {sends} sends "
            f"is over {HOLD_BOUNCE_RATE:.0%}"
        )
    else:
        brand.warmup_level = level
        after = effective_cap(brand)
        figures["new_cap"] = after
        kind, action = "warmup_step", f"cap:{after}"
        why = (
            f"Warm-up step {brand.warmup_level}: daily cap {before} -> {after} "
            f"(target {brand.daily_cap})"
        )
    session.add(
        AIDecisionLog(
            brand_id=brand.id,
            decision_type=kind,
            action_taken=action,
            reasoning=why,
            meta=figures,
            model="warmup",
        )
    )
