"""Two steps of a send that `Sender` runs: heartbeating while the provider call runs, and
writing the ledger row's outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlmodel import Session

from models import DraftStatus, EmailDraft, EmailLog, EmailStatus

T = TypeVar("T")
HEARTBEAT_EVERY = 5.0


async def heartbeating(call: Awaitable[T], heartbeat: Callable[[], None]) -> T:
    """Heartbeats while the provider call runs, so a worker that dies mid-send is noticed
    within the heartbeat timeout (not the whole start-to-close timeout) and the retry finds
    the ledger row `sending`."""

    async def beat() -> None:
        while True:
            heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY)

    beater = asyncio.create_task(beat())
    try:
        return await call
    finally:
        beater.cancel()


def finish_row(
    session: Session,
    log_id: int,
    status: EmailStatus,
    *,
    error: str,
    sent_draft: tuple[int, int] | None,
    ids: dict[str, str | None],
) -> None:
    row = session.get(EmailLog, log_id)
    assert row is not None
    row.status, row.error = status, error[:2000]
    if status == EmailStatus.pending:
        row.sent_at = None
    for name, value in ids.items():
        setattr(row, name, value)
    session.add(row)
    if sent_draft is not None:
        # A review draft (one deal's email) is done once sent; a composer draft holds
        # many recipients and keeps the status the composer gave it.
        held = session.get(EmailDraft, sent_draft[0])
        if held is not None and held.deal_id == sent_draft[1]:
            held.status, held.sent_at = DraftStatus.sent, row.sent_at
            session.add(held)
