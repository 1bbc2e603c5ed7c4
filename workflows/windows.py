"""Send windows: when a brand may email a contact, and when a sleeping deal should wake.

Pure functions of their arguments (no clock, no I/O beyond zoneinfo's tz database, no
randomness), so DealWorkflow can call them during replay. Re-exported by workflows.rules.

A deal's offset into a window is Fibonacci hashing of its id (`deal_offset_fraction`): any
run of consecutive deal ids (a bulk enrolment's) lands evenly over the spread, so when a
window opens for 10,000 deals no minute wakes many more than another (bench.sleeping). Deals
whose recorded history planned their wakes with the earlier blake2b hash keep it: inside a
workflow the choice is `workflow.patched(EVEN_SPREAD_PATCH)`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio import workflow

# Wake-ups are spread over the first part of a window (at most this long) so that a
# weekend's worth of deals does not hit the Temporal cluster at 09:00:00 Monday.
MAX_SPREAD = timedelta(hours=2)
# Horizon for finding the next opening; a window with at least one day opens within a week
# (two covers a DST day whose window is squeezed out entirely).
_SEARCH_DAYS = 15


@dataclass(frozen=True)
class SendWindow:
    timezone: str  # IANA, the brand's
    start: time  # local, e.g. time(9)
    end: time  # local, e.g. time(17); same day as start (windows never span midnight)
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # weekdays 0=Mon..6=Sun

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("send window must start before it ends on the same day")
        if not self.days or any(d not in range(7) for d in self.days):
            raise ValueError("send window days must be a non-empty subset of 0..6")


@lru_cache(maxsize=128)
def _zone(name: str) -> tzinfo:
    # Inside Temporal's workflow sandbox every ZoneInfo(...) instance comes wrapped in a
    # restriction proxy that datetime's C code rejects ("tzinfo argument must be ... a tzinfo
    # subclass"). The no_cache constructor is reached as a plain attribute and returns the real
    # object; this cache stands in for zoneinfo's own.
    return ZoneInfo.no_cache(name)


def resolve_zone(window: SendWindow, contact_timezone: str | None = None) -> tzinfo:
    """The contact's zone when known and valid, else the brand's (else UTC)."""
    for name in (contact_timezone, window.timezone):
        if not name:
            continue
        try:
            return _zone(name)
        except (ZoneInfoNotFoundError, ValueError):
            # Contact time zones come from enrichment/imports: junk must not break sending.
            continue
    return UTC


def _require_aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _local(day: date, at: time, zone: tzinfo) -> datetime:
    """Wall-clock time on a day, as aware UTC; a time inside a DST gap moves forward."""
    naive = datetime.combine(day, at)
    # fold=0 on a non-existent time gives the pre-transition offset, i.e. later in real time;
    # the round trip normalises it to a real instant.
    return naive.replace(tzinfo=zone).astimezone(UTC)


def in_send_window(now: datetime, window: SendWindow, contact_timezone: str | None = None) -> bool:
    zone = resolve_zone(window, contact_timezone)
    local = _require_aware(now).astimezone(zone)
    return local.weekday() in window.days and window.start <= local.time() < window.end


# 2**64 / golden ratio, odd: multiplying by it (mod 2**64) is Fibonacci hashing. By the
# three-distance theorem the fractions of N consecutive ids cut [0, 1) into gaps of at most
# three lengths, none longer than about 2.6 / N: an even spread at any N, not a random one.
_FIBONACCI = 0x9E3779B97F4A7C15
_WORD = 2**64
EVEN_SPREAD_PATCH = "even-wake-spread"


def deal_offset_fraction(deal_id: int, *, even: bool = True) -> float:
    """A stable value in [0, 1) per deal. `even` (the default): Fibonacci hashing of the id,
    so neighbours land far apart and a block of consecutive ids covers [0, 1) evenly; False:
    the blake2b hash the wakes recorded before `EVEN_SPREAD_PATCH` were planned with (random
    looking: 500 deals over 120 minutes put 10 in the busiest minute, 4.2 on average)."""
    if even:
        return (deal_id * _FIBONACCI) % _WORD / _WORD
    digest = hashlib.blake2b(f"send-window:{deal_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _WORD


def even_spread() -> bool:
    """Whether wakes use the even spread: always outside a workflow (the forecast, the send
    limits' retry times); inside one, unless its history was recorded before the patch (a
    query or validator cannot patch, and reads the new rule)."""
    if not workflow.in_workflow() or workflow.unsafe.is_read_only():
        return True
    return workflow.patched(EVEN_SPREAD_PATCH)


def next_window_opening(
    now: datetime, window: SendWindow, contact_timezone: str | None = None
) -> tuple[datetime, datetime]:
    """(opening, closing) in UTC of the first window that opens strictly after now."""
    now_utc = _require_aware(now)
    zone = resolve_zone(window, contact_timezone)
    day = now_utc.astimezone(zone).date()
    for i in range(_SEARCH_DAYS):
        candidate = day + timedelta(days=i)
        if candidate.weekday() not in window.days:
            continue
        opening = _local(candidate, window.start, zone)
        closing = _local(candidate, window.end, zone)
        if opening > now_utc and closing > opening:
            return opening, closing
    raise ValueError(f"send window never opens: {window!r}")  # unreachable for a valid window


def next_send_time(
    now: datetime, window: SendWindow, deal_id: int, contact_timezone: str | None = None
) -> datetime:
    """now (UTC) inside the window, else the next opening plus a per-deal offset.

    The offset spreads deals over the first quarter of the window, at most MAX_SPREAD,
    measured in real time from the opening, so it never reaches the window's end even on a
    DST change day. Its per-deal fraction: `deal_offset_fraction(deal_id, even=even_spread())`.
    """
    now_utc = _require_aware(now)
    if in_send_window(now_utc, window, contact_timezone):
        return now_utc
    opening, closing = next_window_opening(now_utc, window, contact_timezone)
    spread = min(MAX_SPREAD, (closing - opening) / 4)
    fraction = deal_offset_fraction(deal_id, even=even_spread())
    offset_s = int(fraction * spread.total_seconds())
    return opening + timedelta(seconds=offset_s)


def ooo_resume_at(return_date: date, window: SendWindow) -> datetime:
    """Out of office: the window opening on the first sending day after the return date.

    "+1 business day": a person back on Monday spends it on their inbox, so we write on
    Tuesday; back on Friday → Monday. Sending days are the brand window's days; the brand's
    zone is used because the return date is as the contact wrote it, without a zone.
    """
    zone = resolve_zone(window)
    day = return_date + timedelta(days=1)
    while day.weekday() not in window.days:
        day += timedelta(days=1)
    return _local(day, window.start, zone)
