"""When a send held back by the daily cap or the minimum gap tries again: pure functions used
by sending (`dealpilot.deals.sending`) and by the campaign forecast (`dealpilot.deals.forecast`),
so the forecast follows the very rules a send meets."""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.rules import SendWindow, next_send_time

CAP_RETRY_AFTER_MIDNIGHT = timedelta(days=1, hours=1)


def cap_retry_at(local_midnight: datetime, window: SendWindow, deal_id: int) -> datetime:
    """A full day: the next day's window (brand zone), plus the deal's offset into it."""
    return next_send_time(local_midnight + CAP_RETRY_AFTER_MIDNIGHT, window, deal_id)


def gap_free_at(last: datetime | None, gap_seconds: int, now: datetime) -> datetime | None:
    """When the minimum gap after the brand's last send ends, if that is after `now`."""
    if last is None:
        return None
    last = last if last.tzinfo else last.replace(tzinfo=now.tzinfo)
    free_at = last + timedelta(seconds=gap_seconds)
    return free_at if free_at > now else None


def gap_retry_at(free_at: datetime, gap_seconds: int, deal_id: int) -> datetime:
    """Spread the waiting deals instead of waking them all at the same instant."""
    return free_at + timedelta(seconds=deal_id % max(gap_seconds, 1))
