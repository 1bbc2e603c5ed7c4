"""Send-time limits and provider refusals, as the contacts (and the deals) see them."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models import Suppression
from tests.workflows.conftest import Stack
from tests.workflows.helpers import sent_logs

SYDNEY = ZoneInfo("Australia/Sydney")


async def test_daily_cap_defers_to_the_next_day_and_drops_nothing(stack: Stack) -> None:
    stack.open_window("codeteki", daily_cap=1)
    one, _ = await stack.enrol("first@example.com.au", brand="codeteki", pipeline="sales")
    two, _ = await stack.enrol("second@example.com.au", brand="codeteki", pipeline="sales")
    await stack.env.sleep(timedelta(hours=1))
    assert len(stack.inbox.messages) == 1  # whichever deal came first; the other waits
    await stack.env.sleep(timedelta(days=1, hours=3))
    assert len(stack.inbox.to("first@example.com.au")) == 1
    assert len(stack.inbox.to("second@example.com.au")) == 1
    days = sorted(
        log.sent_at.astimezone(SYDNEY).date()
        for deal_id in (one, two)
        for log in sent_logs(stack.engine, deal_id)
        if log.sent_at is not None
    )
    assert len(days) == 2
    assert days[1] > days[0]


async def test_refused_recipient_closes_the_deal_and_suppresses(stack: Stack) -> None:
    stack.open_window("desifirms")
    stack.inbox.refuse = frozenset({"nobody@example.com.au"})
    _deal_id, handle = await stack.enrol(
        "nobody@example.com.au", brand="desifirms", pipeline="events"
    )
    result = await handle.result()
    assert result.status == "lost"
    assert "rejected" in result.lost_reason
    assert stack.inbox.messages == []
    with Session(stack.engine) as s:
        row = s.exec(select(Suppression).where(Suppression.email == "nobody@example.com.au")).one()
    assert row.reason == "hard_bounce"
