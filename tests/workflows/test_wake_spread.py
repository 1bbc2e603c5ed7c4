"""A deal enrolled while its brand's window is shut sleeps until the opening plus its own
offset: the even spread (Fibonacci hashing of the deal id) for a new deal, with the patch
marker that keeps the recorded `window_closed_wake` history (planned with the earlier hash)
replaying as it was planned."""

from __future__ import annotations

from datetime import time, timedelta

from tests.workflows.conftest import Stack
from tests.workflows.histories import record
from workflows import rules, windows
from workflows.deal import DealWorkflow


async def test_a_deal_outside_the_window_wakes_at_its_even_offset(stack: Stack) -> None:
    now = await stack.env.get_current_time()
    brand = stack.brand("codeteki")
    tomorrow = (now.astimezone(rules.resolve_zone(rules.SendWindow(brand.timezone, time(9),
                time(17)))) + timedelta(days=1)).weekday()  # fmt: skip
    stack.open_window(
        "codeteki", send_days=[tomorrow], send_window_start=time(9), send_window_end=time(17)
    )
    window = rules.SendWindow(brand.timezone, time(9), time(17), (tomorrow,))
    deal_id, handle = await stack.enrol("later@example.com.au", brand="codeteki", pipeline="sales")
    await stack.env.sleep(timedelta(minutes=5))
    state = await handle.query(DealWorkflow.state)
    await record(handle, "window_closed_wake")

    opening, _closing = rules.next_window_opening(now, window)
    offset = int(windows.deal_offset_fraction(deal_id) * windows.MAX_SPREAD.total_seconds())
    assert state.next_action_at == opening + timedelta(seconds=offset)
    assert state.next_action_at == rules.next_send_time(now, window, deal_id)
    assert stack.inbox.to("later@example.com.au") == []
    history = await handle.fetch_history()
    markers = [
        e.marker_recorded_event_attributes
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    patches = [str(m) for m in markers if m.marker_name == "core_patch"]
    assert any(windows.EVEN_SPREAD_PATCH in p for p in patches), patches
