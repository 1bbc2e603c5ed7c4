"""A deal's whole life on the time-skipping server: what the contact receives, and when."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import WorkflowHandle

from tests.workflows.conftest import Stack
from tests.workflows.helpers import record_open, sent_logs
from tests.workflows.histories import record
from workflows.contracts import DealStateView, EngagementEvent
from workflows.deal import DealWorkflow

DAY = timedelta(days=1)


async def live(
    stack: Stack, handle: WorkflowHandle, deal_id: int, days: float, *, opens: bool
) -> None:
    """Lets `days` pass in 6-hour steps; with `opens`, the contact opens each new email."""
    opened: set[int] = set()
    for _ in range(int(days * 4)):
        await stack.env.sleep(timedelta(hours=6))
        if not opens:
            continue
        for log in sent_logs(stack.engine, deal_id):
            if log.id in opened:
                continue
            opened.add(log.id or 0)
            record_open(stack.engine, log, at=await stack.env.get_current_time())
            await handle.signal(DealWorkflow.email_opened, EngagementEvent(email_log_id=log.id))


async def test_opened_but_unanswered_sequence_ends_not_interested(stack: Stack) -> None:
    stack.open_window("desifirms")
    deal_id, handle = await stack.enrol(
        "priya@sharma-realty.com.au", brand="desifirms", pipeline="real_estate", name="Priya Sharma"
    )
    await live(stack, handle, deal_id, 21, opens=True)
    result: DealStateView = await handle.result()
    await record(handle, "opened_sequence_not_interested")

    assert result.status == "lost"
    assert result.stage == "Not Interested"
    messages = stack.inbox.to("priya@sharma-realty.com.au")
    assert len(messages) == 4  # Invited, Follow-up 1, 2, 3 (Final)
    logs = sent_logs(stack.engine, deal_id)
    gaps = [b.sent_at - a.sent_at for a, b in zip(logs, logs[1:], strict=False)]  # type: ignore[operator]
    # Invited waits 3 days (nothing sent yet: tier new); she opens every email, so she is hot
    # and the next follow-ups come at half the stages' 4 and 5 days (workflows.cadence).
    assert [round(g / DAY, 1) for g in gaps] == [3.0, 2.0, 2.5]
    assert all("Priya" in m.get_body(("plain",)).get_content() for m in messages)
    timeline = await handle.query(DealWorkflow.timeline)
    closed = [e for e in timeline if e.kind == "stage" and "Not Interested" in e.text]
    assert closed
    assert round((closed[0].at - logs[-1].sent_at) / DAY) == 7  # type: ignore[operator]
