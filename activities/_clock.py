"""What an activity hands the domain from Temporal: the attempt's clock."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity


def activity_now() -> datetime:
    """The server's clock for this attempt: real time in production, skipped time in tests."""
    return activity.info().current_attempt_scheduled_time
