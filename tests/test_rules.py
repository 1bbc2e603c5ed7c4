"""The autopilot's rules, as plain functions: no Temporal, no database, no clock."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflows.rules import (
    BURNOUT_WAIT,
    EngagementStats,
    GuardResult,
    SendWindow,
    StageInfo,
    Verdict,
    ab_variant,
    autopilot_guard,
    engagement_tier,
    in_send_window,
    is_burnout_risk,
    is_final_sequence_stage,
    is_ghost,
    lost_stage,
    next_send_time,
    next_sequence_stage,
    ooo_resume_at,
    reply_outcome,
    reply_stage,
    won_stage,
)
from workflows.windows import deal_offset_fraction

SYD = ZoneInfo("Australia/Sydney")
IST = ZoneInfo("Asia/Kolkata")
WINDOW = SendWindow("Australia/Sydney", time(9), time(17), (0, 1, 2, 3, 4))


def syd(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SYD).astimezone(UTC)


# --- send windows -----------------------------------------------------------------------


def test_inside_the_window_returns_now() -> None:
    now = syd(2026, 3, 4, 11, 15)  # Wednesday
    assert in_send_window(now, WINDOW)
    assert next_send_time(now, WINDOW, deal_id=7) == now
    assert next_send_time(now, WINDOW, deal_id=7).tzinfo == UTC


def test_window_end_is_exclusive_and_start_inclusive() -> None:
    assert in_send_window(syd(2026, 3, 4, 9, 0), WINDOW)
    assert not in_send_window(syd(2026, 3, 4, 17, 0), WINDOW)


def _wake_local(now: datetime, deal_id: int = 1, tz: str | None = None) -> datetime:
    wake = next_send_time(now, WINDOW, deal_id, tz)
    assert wake.tzinfo == UTC
    assert wake > now
    return wake.astimezone(ZoneInfo(tz) if tz else SYD)


def test_friday_evening_waits_for_monday() -> None:
    local = _wake_local(syd(2026, 3, 6, 17, 30))  # Friday 17:30
    assert local.date() == date(2026, 3, 9)
    assert time(9) <= local.time() < time(11)


def test_saturday_waits_for_monday() -> None:
    assert _wake_local(syd(2026, 3, 7, 12, 0)).date() == date(2026, 3, 9)


def test_before_opening_waits_for_the_same_day() -> None:
    local = _wake_local(syd(2026, 3, 4, 7, 45))
    assert local.date() == date(2026, 3, 4)
    assert local.time() >= time(9)


def test_after_closing_waits_for_tomorrow() -> None:
    assert _wake_local(syd(2026, 3, 4, 18, 0)).date() == date(2026, 3, 5)


def test_contact_time_zone_wins_over_the_brand_zone() -> None:
    now = syd(2026, 3, 2, 11, 0)  # Monday 11:00 in Sydney is 05:30 in Kolkata
    assert in_send_window(now, WINDOW)
    assert not in_send_window(now, WINDOW, "Asia/Kolkata")
    local = _wake_local(now, tz="Asia/Kolkata")
    assert local.date() == date(2026, 3, 2)
    assert time(9) <= local.time() < time(11)
    # and late afternoon in Sydney is still office hours in Kolkata
    assert in_send_window(syd(2026, 3, 2, 18, 0), WINDOW, "Asia/Kolkata")


@pytest.mark.parametrize("bad", ["Mars/Olympus", "", "../../etc/passwd", "not a zone"])
def test_invalid_contact_zone_falls_back_to_the_brand_zone(bad: str) -> None:
    now = syd(2026, 3, 6, 17, 30)
    assert next_send_time(now, WINDOW, 5, bad) == next_send_time(now, WINDOW, 5)
    assert in_send_window(syd(2026, 3, 4, 10), WINDOW, bad)


def test_dst_start_in_sydney_over_the_weekend() -> None:
    # Clocks go forward on Sunday 4 Oct 2026: Friday is UTC+10, Monday is UTC+11.
    wake = next_send_time(syd(2026, 10, 2, 17, 30), WINDOW, 3)
    local = wake.astimezone(SYD)
    assert local.utcoffset() == timedelta(hours=11)
    assert local.date() == date(2026, 10, 5)
    assert time(9) <= local.time() < time(11)


def test_window_on_the_dst_change_day_itself() -> None:
    # A 7-day window from 01:00 to 05:00: on 4 Oct 2026 it lasts 3 real hours, not 4.
    window = SendWindow("Australia/Sydney", time(1), time(5), tuple(range(7)))
    now = syd(2026, 10, 3, 23, 0)
    for deal_id in range(300):
        wake = next_send_time(now, window, deal_id)
        assert syd(2026, 10, 4, 1, 0) <= wake < syd(2026, 10, 4, 5, 0)
        assert in_send_window(wake, window)
    # DST end (5 Apr 2026, 03:00 → 02:00): the window is 5 real hours long, still in it
    wake = next_send_time(syd(2026, 4, 4, 23, 0), window, 11)
    assert in_send_window(wake, window)


def test_window_opening_inside_a_dst_gap_moves_forward() -> None:
    window = SendWindow("Australia/Sydney", time(2, 30), time(6), (6,))  # Sundays only
    wake = next_send_time(syd(2026, 10, 3, 12, 0), window, 1)
    assert wake >= datetime(2026, 10, 3, 16, 30, tzinfo=UTC)  # 03:30 AEDT, the real instant
    assert in_send_window(wake, window)


def test_offset_is_deterministic_inside_the_window_and_spread() -> None:
    now = syd(2026, 3, 7, 10, 0)  # Saturday
    opening = syd(2026, 3, 9, 9, 0)
    wakes = [next_send_time(now, WINDOW, deal_id) for deal_id in range(1, 2001)]
    assert wakes == [next_send_time(now, WINDOW, deal_id) for deal_id in range(1, 2001)]
    assert all(opening <= w < opening + timedelta(hours=2) for w in wakes)
    assert all(in_send_window(w, WINDOW) for w in wakes)
    minutes = {w.replace(second=0) for w in wakes}
    assert len(minutes) >= 110  # of 120 possible: no thundering herd at 09:00:00
    assert sum(w == opening for w in wakes) <= 2


@pytest.mark.parametrize(
    ("first", "count", "step"),
    [(1, 500, 1), (90_001, 10_000, 1), (7, 3_000, 3), (100, 2_000, 7)],
    ids=["500", "10000", "every-3rd", "every-7th"],
)
def test_a_window_opening_for_many_deals_spreads_them_evenly(
    first: int, count: int, step: int
) -> None:
    """Consecutive deal ids (a bulk enrolment's), or every k-th (brands interleaved): no minute
    of the two-hour spread wakes more than 1.5x its even share, no second more than 2."""
    now = syd(2026, 3, 7, 10, 0)
    wakes = [next_send_time(now, WINDOW, d) for d in range(first, first + count * step, step)]
    per_minute = Counter(int(w.timestamp()) // 60 for w in wakes)
    per_second = Counter(int(w.timestamp()) for w in wakes)
    assert len(per_minute) == 120
    assert max(per_minute.values()) <= 1.5 * count / 120
    assert max(per_second.values()) <= 2


def test_the_earlier_hash_is_kept_for_recorded_wakes() -> None:
    """Wakes planned before the even spread (no `even-wake-spread` marker in the history) keep
    the blake2b fraction: these values are what those histories' timers were computed from."""
    assert deal_offset_fraction(42, even=False) == 0.2816752485790792
    assert deal_offset_fraction(7, even=False) == 0.5218690370117429
    assert deal_offset_fraction(1) == pytest.approx(0.6180339887498949)  # 1 / golden ratio
    assert all(0 <= deal_offset_fraction(d) < 1 for d in (0, 1, 2**40, 2**63 + 5))


def test_short_window_offset_never_passes_its_end() -> None:
    window = SendWindow("Australia/Sydney", time(9), time(9, 20), (0,))
    for deal_id in range(500):
        wake = next_send_time(syd(2026, 3, 7, 10), window, deal_id)
        assert syd(2026, 3, 9, 9, 0) <= wake < syd(2026, 3, 9, 9, 5)  # first quarter


def test_window_validation_and_naive_now() -> None:
    with pytest.raises(ValueError, match="start before"):
        SendWindow("UTC", time(17), time(9), (0,))
    with pytest.raises(ValueError, match="days"):
        SendWindow("UTC", time(9), time(17), ())
    with pytest.raises(ValueError, match="aware"):
        next_send_time(datetime(2026, 3, 4, 10), WINDOW, 1)


def test_ooo_resume_is_the_next_business_day_at_the_opening() -> None:
    assert ooo_resume_at(date(2026, 3, 3), WINDOW) == syd(2026, 3, 4, 9, 0)  # Tue → Wed
    assert ooo_resume_at(date(2026, 3, 6), WINDOW) == syd(2026, 3, 9, 9, 0)  # Fri → Mon
    assert ooo_resume_at(date(2026, 3, 7), WINDOW) == syd(2026, 3, 9, 9, 0)  # Sat → Mon
    assert ooo_resume_at(date(2026, 3, 3), WINDOW).tzinfo == UTC


# --- engagement tiers -------------------------------------------------------------------

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def stats(
    sent: int = 0,
    opened: int = 0,
    clicked: int = 0,
    replies: int = 0,
    unopened: int = 0,
    open_ago: timedelta | None = None,
    click_ago: timedelta | None = None,
) -> EngagementStats:
    return EngagementStats(
        emails_sent=sent,
        emails_opened=opened,
        emails_clicked=clicked,
        replies=replies,
        consecutive_unopened=unopened,
        last_open_at=NOW - open_ago if open_ago is not None else None,
        last_click_at=NOW - click_ago if click_ago is not None else None,
    )


DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("s", "tier"),
    [
        (stats(), "new"),
        (stats(sent=1), "new"),  # one email, no reaction yet: not evidence of coldness
        (stats(sent=2), "cold"),
        (stats(sent=3, unopened=3), "ghost"),
        (stats(sent=5, unopened=5), "ghost"),
        (stats(sent=3, replies=1), "engaged"),
        (stats(sent=3, opened=3, replies=1, open_ago=DAY), "engaged"),
        (stats(sent=2, opened=2, open_ago=DAY), "hot"),
        (stats(sent=2, opened=2, open_ago=7 * DAY), "hot"),  # 7 days inclusive
        (stats(sent=2, opened=2, open_ago=7 * DAY + SECOND), "warm"),
        (stats(sent=3, opened=2, open_ago=DAY), "hot"),  # 67% > 50%
        (stats(sent=2, opened=1, open_ago=DAY), "warm"),  # exactly 50% is not hot
        (stats(sent=4, opened=2, open_ago=DAY), "warm"),
        (stats(sent=2, opened=1, open_ago=14 * DAY), "warm"),  # 14 days inclusive
        (stats(sent=2, opened=1, open_ago=14 * DAY + SECOND), "lurker"),
        (stats(sent=3, opened=3, open_ago=30 * DAY), "lurker"),
        (stats(sent=3, opened=1), "lurker"),  # opened, time unknown
        # clicks are engagement: a click with no pixel open still counts as opened
        (stats(sent=2, clicked=2, click_ago=DAY), "hot"),
        (stats(sent=3, clicked=1, click_ago=2 * DAY), "warm"),
        (stats(sent=3, opened=1, clicked=1, open_ago=20 * DAY, click_ago=DAY), "warm"),
        (stats(sent=3, clicked=1, click_ago=40 * DAY), "lurker"),
        (stats(sent=1, opened=1, open_ago=DAY), "hot"),
    ],
)
def test_engagement_tier(s: EngagementStats, tier: str) -> None:
    assert engagement_tier(s, NOW) == tier


def test_ghost_versus_burnout() -> None:
    never_opened = stats(sent=3, unopened=3)
    assert is_ghost(never_opened)
    assert not is_burnout_risk(never_opened)  # a ghost is closed, not rested
    went_quiet = stats(sent=5, opened=2, unopened=3, open_ago=20 * DAY)
    assert not is_ghost(went_quiet)
    assert is_burnout_risk(went_quiet)
    assert not is_burnout_risk(stats(sent=4, opened=2, unopened=2))
    assert not is_ghost(stats(sent=3, clicked=1))
    assert not is_ghost(stats(sent=3, replies=1))
    assert not is_ghost(stats(sent=2))
    # Machine opens (Apple Mail Privacy Protection) are no engagement, but no absence either.
    machine_only = replace(never_opened, emails_machine_opened=3)
    assert not is_ghost(machine_only)
    assert engagement_tier(machine_only, NOW) == "cold"
    assert is_burnout_risk(machine_only)  # rested like anyone who stopped opening


# --- A/B --------------------------------------------------------------------------------


def test_ab_split_is_even_stable_and_not_a_pattern() -> None:
    ids = range(1, 1001)
    variants = [ab_variant(i) for i in ids]
    assert variants == [ab_variant(i) for i in ids]
    assert set(variants) == {"A", "B"}
    assert 450 <= variants.count("A") <= 550
    # not parity or any short cycle (which would line up with id-ordered batches)
    for modulus in (2, 3, 4, 5):
        for rest in range(modulus):
            subset = [v for i, v in zip(ids, variants, strict=True) if i % modulus == rest]
            assert 0.38 <= subset.count("A") / len(subset) <= 0.62
    alternations = sum(a != b for a, b in zip(variants, variants[1:], strict=False))
    assert 400 <= alternations <= 600  # a random sequence flips about half the time


# --- stages -----------------------------------------------------------------------------


def stage(id_: int, name: str, kind: str, *, terminal: bool = False) -> StageInfo:
    auto = {"sequence": "send_email", "reply": "draft_reply", "lost": "close"}.get(kind, "none")
    return StageInfo(
        id=id_,
        name=name,
        slug=name.lower().replace(" ", "-"),
        order=id_ * 10,
        kind=kind,
        auto_action=auto,
        days_until_followup=3 if kind in ("entry", "sequence") else None,
        is_terminal=terminal,
        template_key=name.lower().replace(" ", "_") if kind == "sequence" else None,
    )


SALES = [
    stage(1, "Prospect Found", "entry"),
    stage(2, "Intro Sent", "sequence"),
    stage(3, "Follow-up 1", "sequence"),
    stage(4, "Follow-up 2", "sequence"),
    stage(5, "Responded", "reply"),
    stage(6, "Discovery Call", "manual"),
    stage(7, "Proposal Sent", "manual"),
    stage(8, "Client", "won", terminal=True),
    stage(9, "Lost", "lost", terminal=True),
]
BY_NAME = {s.name: s for s in SALES}


def test_sequence_advances_through_sequence_stages_only() -> None:
    shuffled = list(reversed(SALES))  # order comes from `order`, not list position
    assert next_sequence_stage(shuffled, 1) == BY_NAME["Intro Sent"]
    assert next_sequence_stage(shuffled, 2) == BY_NAME["Follow-up 1"]
    assert next_sequence_stage(shuffled, 3) == BY_NAME["Follow-up 2"]
    assert next_sequence_stage(shuffled, 4) is None  # never into Responded
    for s in SALES[4:]:
        assert next_sequence_stage(shuffled, s.id) is None  # reply/manual/won/lost stay put
    assert next_sequence_stage(shuffled, 999) is None


def test_never_auto_advances_into_reply_manual_or_won() -> None:
    reached = {n.id for s in SALES if (n := next_sequence_stage(SALES, s.id)) is not None}
    assert all(BY_NAME[name].id not in reached for name in ("Responded", "Discovery Call"))
    assert BY_NAME["Client"].id not in reached
    # an onboarding pipeline whose entry is followed by a manual stage does not advance
    onboarding = [stage(1, "Registered", "entry"), stage(2, "Verified", "manual")]
    assert next_sequence_stage(onboarding, 1) is None


def test_final_sequence_stage() -> None:
    assert is_final_sequence_stage(SALES, 4)
    assert not is_final_sequence_stage(SALES, 3)
    assert not is_final_sequence_stage(SALES, 1)  # entry is not a sequence stage
    assert not is_final_sequence_stage(SALES, 5)


def test_named_stages() -> None:
    assert lost_stage(SALES).name == "Lost"
    assert reply_stage(SALES) == BY_NAME["Responded"]
    assert won_stage(SALES) == BY_NAME["Client"]
    assert reply_stage(SALES[:4]) is None
    with pytest.raises(LookupError):
        lost_stage(SALES[:8])


# --- guard ------------------------------------------------------------------------------

OPEN_NOW = syd(2026, 3, 4, 10, 0)  # Wednesday 10:00 in Sydney


def guard(
    *,
    now: datetime = OPEN_NOW,
    suppressed: bool = False,
    current: int = 3,
    s: EngagementStats | None = None,
) -> GuardResult:
    return autopilot_guard(
        now=now,
        window=WINDOW,
        deal_id=42,
        contact_timezone=None,
        suppressed=suppressed,
        suppression_reason="unsubscribed" if suppressed else None,
        stages=SALES,
        current_stage_id=current,
        stats=s or stats(sent=1),
    )


def test_guard_proceeds_when_nothing_applies() -> None:
    result = guard()
    assert result.verdict == Verdict.PROCEED
    assert str(result.verdict) == "proceed"  # plain lower-case value for the timeline


def test_guard_window_comes_first() -> None:
    saturday = syd(2026, 3, 7, 10, 0)
    result = guard(now=saturday, suppressed=True, s=stats(sent=3))
    assert result.verdict == Verdict.SEND_WINDOW_CLOSED
    assert result.wake_at == next_send_time(saturday, WINDOW, 42)
    assert "Mon 09 Mar" in result.reason


def test_guard_suppressed_wins_over_final_ghost_and_burnout() -> None:
    result = guard(suppressed=True, current=4, s=stats(sent=3, unopened=3))
    assert result.verdict == Verdict.SUPPRESSED
    assert "unsubscribed" in result.reason
    assert result.target_stage_id == BY_NAME["Lost"].id


def test_guard_final_follow_up_expired_before_ghost() -> None:
    result = guard(current=4, s=stats(sent=3, unopened=3))
    assert result.verdict == Verdict.FINAL_EXPIRED
    assert "Follow-up 2" in result.reason
    assert result.target_stage_id == BY_NAME["Lost"].id


def test_guard_ghost_then_burnout() -> None:
    ghost = guard(current=3, s=stats(sent=3, unopened=3))
    assert ghost.verdict == Verdict.GHOST
    assert ghost.reason == "3 emails sent, none opened: closing as ghost"
    burnout = guard(current=3, s=stats(sent=5, opened=1, unopened=3, open_ago=30 * DAY))
    assert burnout.verdict == Verdict.BURNOUT
    assert burnout.wake_at is not None
    assert burnout.wake_at >= OPEN_NOW + BURNOUT_WAIT
    assert in_send_window(burnout.wake_at, WINDOW)


# --- replies ----------------------------------------------------------------------------


def test_reply_outcomes() -> None:
    assert reply_outcome("interested").move_to == "reply"
    assert reply_outcome("question").draft_reply
    unsubscribe = reply_outcome("unsubscribe")
    assert unsubscribe.stop_sequence
    assert unsubscribe.suppress == "unsubscribed"
    assert reply_outcome("not_interested").move_to == "lost"
    assert reply_outcome("bounce").suppress == "hard_bounce"
    ooo = reply_outcome("out_of_office")
    assert ooo.pause_until_return
    assert not ooo.stop_sequence


def test_reply_outcomes_say_how_a_deal_closes_and_what_counts_as_a_reply() -> None:
    assert reply_outcome("unsubscribe").close_reason == "asked to be removed"
    assert reply_outcome("not_interested").decision == "reply_not_interested"
    assert not reply_outcome("bounce").counts_as_reply
    assert not reply_outcome("out_of_office").counts_as_reply
    assert reply_outcome("interested").counts_as_reply
    unknown = reply_outcome("referral")  # not an intent the classifier knows: a person looks
    assert unknown.stop_sequence
    assert unknown.move_to == "reply"
    assert not unknown.draft_reply
