"""Crashes and history: a killed worker never sends twice; continue-as-new loses nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select
from temporalio.testing import ActivityEnvironment

from models import EmailLog, EmailStatus, PipelineStage, session_scope
from tests.workflows.conftest import Stack
from tests.workflows.histories import record
from tests.workflows.test_sequence import live
from worker import build_activities
from workflows.contracts import SendRequest
from workflows.deal import DealWorkflow
from workflows.deal_memory import DealInput

DAY = timedelta(days=1)


async def test_continue_as_new_keeps_the_whole_state(stack: Stack) -> None:
    stack.open_window("desifirms")
    deal_id = stack.create_deal(
        "carry@example.com.au", brand="desifirms", pipeline="events"
    ).deal_id
    started = await stack.client.start_workflow(
        DealWorkflow.run,
        DealInput(deal_id=deal_id, continue_as_new_after=1),
        id=f"deal-{deal_id}",
        task_queue=stack.task_queue,
    )
    # Not pinned to the first run: signals and queries follow the chain of runs.
    handle = stack.client.get_workflow_handle_for(DealWorkflow.run, started.id)
    await live(stack, handle, deal_id, 21, opens=True)
    result = await handle.result()
    assert result.emails_sent == 4
    assert result.opens == 4
    assert result.stage == "Not Interested"
    timeline = await handle.query(DealWorkflow.timeline)
    assert timeline[0].text.startswith("Enrolled")  # the first run's story is still there
    assert sum(e.kind == "email" for e in timeline) == 4
    first_run = stack.client.get_workflow_handle(started.id, run_id=started.result_run_id)
    await record(first_run, "continued_as_new_first_run")
    history = await first_run.fetch_history()
    last = history.events[-1]
    assert last.HasField("workflow_execution_continued_as_new_event_attributes")


async def test_a_send_left_in_flight_by_a_dead_worker_is_flagged_not_repeated(stack: Stack) -> None:
    """A worker that died while talking to the provider leaves the ledger row `sending`; the
    retried activity must flag it for review and send nothing. A retry after a completed send
    reports the send and sends nothing either."""
    stack.open_window("codeteki")
    start = stack.create_deal("once@example.com.au", brand="codeteki", pipeline="sales")
    send = next(
        a
        for a in build_activities(settings=stack.settings, engine=stack.engine, ai=stack.worker_ai)
        if getattr(a, "__name__", "") == "send_stage_email"
    )
    with Session(stack.engine) as s:
        intro = s.exec(select(PipelineStage).where(PipelineStage.slug == "intro_sent")).first()
    assert intro is not None
    request = SendRequest(deal_id=start.deal_id, stage_id=intro.id or 0, step=1, variant="A")
    env = ActivityEnvironment()

    first = await env.run(send, request)
    assert first.status == "sent"
    again = await env.run(send, request)  # Temporal retried after the send completed
    assert again.status == "sent"
    assert again.email_log_id == first.email_log_id
    assert len(stack.inbox.to("once@example.com.au")) == 1

    crashed = SendRequest(deal_id=start.deal_id, stage_id=intro.id or 0, step=2, variant="A")
    with session_scope(stack.engine) as s:  # what a worker killed mid-send leaves behind
        s.add(
            EmailLog(
                idempotency_key=f"deal-{start.deal_id}:step-2",
                brand_id=stack.brand("codeteki").id or 0,
                deal_id=start.deal_id,
                to_email="once@example.com.au",
                subject="Follow-up",
                status=EmailStatus.sending,
            )
        )
    outcome = await env.run(send, crashed)
    assert outcome.status == "unknown"
    assert len(stack.inbox.to("once@example.com.au")) == 1
    assert _status(stack, start.deal_id, step=2) == EmailStatus.unknown


def _status(stack: Stack, deal_id: int, *, step: int) -> EmailStatus | None:
    with Session(stack.engine) as s:
        key = f"deal-{deal_id}:step-{step}"
        row = s.exec(select(EmailLog).where(EmailLog.idempotency_key == key)).first()
        return row.status if row else None
