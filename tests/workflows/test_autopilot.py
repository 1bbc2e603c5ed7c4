"""The autopilot rules as a contact experiences them: ghosts, burnout, send windows, A/B."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from dealpilot.rendering.renderer import BrandInfo, ContactInfo, EmailContext, EmailRenderer
from models import EmailLog, EmailStatus, Pipeline, PipelineStage, session_scope
from tests.workflows.conftest import Stack
from tests.workflows.helpers import record_open, sent_logs
from tests.workflows.test_sequence import live
from workflows import rules
from workflows.contracts import MoveStageRequest
from workflows.deal import DealWorkflow

DAY = timedelta(days=1)


async def test_ghost_closes_after_three_unopened_emails(stack: Stack) -> None:
    stack.open_window("desifirms")
    deal_id, handle = await stack.enrol(
        "silent@example.com.au", brand="desifirms", pipeline="business_listings"
    )
    result = await handle.result()
    assert result.status == "lost"
    assert "none opened" in result.lost_reason or "ghost" in result.lost_reason.lower()
    assert len(stack.inbox.to("silent@example.com.au")) == 3  # Follow-up 3 never goes out


async def test_burnout_rests_seven_days_before_emailing_again(stack: Stack) -> None:
    """An earlier campaign in this brand: first email opened, the next three ignored."""
    stack.open_window("codeteki")
    brand = stack.brand("codeteki")
    start = await stack.env.get_current_time()
    with session_scope(stack.engine) as s:
        for n in range(4):
            log = EmailLog(
                idempotency_key=f"old-campaign-{n}",
                brand_id=brand.id or 0,
                to_email="tired@example.com.au",
                subject=f"old {n}",
                status=EmailStatus.sent,
                sent_at=start - timedelta(days=40 - n * 5),
            )
            s.add(log)
            s.flush()
            if n == 0:
                first = log
    record_open(stack.engine, first, at=start - timedelta(days=39))
    deal_id, handle = await stack.enrol("tired@example.com.au", brand="codeteki", pipeline="sales")
    await stack.env.sleep(6 * DAY)
    assert stack.inbox.to("tired@example.com.au") == []
    state = await handle.query(DealWorkflow.state)
    assert "burnout" in state.next_action_reason
    # After the rest the AI sees a lurker: it changes the approach once, then writes again.
    await stack.env.sleep(6 * DAY)
    timeline = await handle.query(DealWorkflow.timeline)
    assert len(stack.inbox.to("tired@example.com.au")) == 1, (
        await handle.query(DealWorkflow.state),
        await stack.env.get_current_time(),
    )
    decisions = [e.text for e in timeline if e.kind == "decision"]
    assert decisions[0].startswith("AI decided change_approach")
    assert decisions[1].startswith("AI decided send_email")


async def test_nothing_is_sent_outside_the_send_window(stack: Stack) -> None:
    """Codeteki's real window: Monday to Friday, 09:00-17:00 in Sydney."""
    stack.open_window(
        "codeteki",
        send_days=[0, 1, 2, 3, 4],
        send_window_start=time(9),
        send_window_end=time(17),
    )
    deal_id, handle = await stack.enrol("hours@example.com.au", brand="codeteki", pipeline="sales")
    await live(stack, handle, deal_id, 16, opens=True)
    logs = sent_logs(stack.engine, deal_id)
    assert len(logs) == 3
    sydney = ZoneInfo("Australia/Sydney")
    for log in logs:
        assert log.sent_at is not None
        local = log.sent_at.astimezone(sydney)
        assert local.weekday() < 5, local
        assert 9 <= local.hour < 17, local


async def test_ab_subjects_follow_the_deterministic_split(stack: Stack) -> None:
    stack.open_window("codeteki")
    with Session(stack.engine) as s:
        intro = s.exec(
            select(PipelineStage)
            .join(Pipeline, col(Pipeline.id) == col(PipelineStage.pipeline_id))
            .where(Pipeline.name == "Codeteki Sales", PipelineStage.slug == "intro_sent")
        ).one()
    assert intro.subject is not None
    assert intro.subject_variant_b is not None
    brand = BrandInfo.from_row(stack.brand("codeteki"))
    renderer = EmailRenderer()
    variants = set()
    for n in range(4):  # deal ids 1-4 draw both variants
        email = f"ab{n}@example.com.au"
        deal_id, _handle = await stack.enrol(email, brand="codeteki", pipeline="sales")
        await stack.env.sleep(timedelta(minutes=30))
        (log,) = sent_logs(stack.engine, deal_id)
        assert log.variant == rules.ab_variant(deal_id)
        template = intro.subject_variant_b if log.variant == "B" else intro.subject
        ctx = EmailContext(brand=brand, contact=ContactInfo(email=email), unsubscribe_url="-")
        assert log.subject == renderer.render_subject(template, ctx)
        variants.add(log.variant)
    assert variants == {"A", "B"}


async def test_move_stage_rejects_a_stage_of_another_pipeline(stack: Stack) -> None:
    stack.open_window("codeteki")
    deal_id, handle = await stack.enrol("mover@example.com.au", brand="codeteki", pipeline="sales")
    await stack.env.sleep(timedelta(minutes=30))
    with Session(stack.engine) as s:
        foreign = s.exec(select(PipelineStage).where(PipelineStage.slug == "link_placed")).first()
    assert foreign is not None
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(DealWorkflow.move_stage, MoveStageRequest(stage_id=foreign.id))
    assert isinstance(info.value.cause, ApplicationError)
    assert info.value.cause.type == "InvalidStage"
    state = await handle.execute_update(
        DealWorkflow.move_stage, MoveStageRequest(stage="discovery_call", reason="call booked")
    )
    assert state.stage == "Discovery Call"
    await stack.env.sleep(20 * DAY)  # a manual stage: the autopilot sends nothing more
    assert len(stack.inbox.to("mover@example.com.au")) == 1


async def test_moving_into_a_won_stage_sends_its_welcome_email_and_stays_won(stack: Stack) -> None:
    stack.open_window("desifirms")
    _deal_id, handle = await stack.enrol(
        "lister@agency.com.au", brand="desifirms", pipeline="agents_agencies", name="Raj Patel"
    )
    await stack.env.sleep(timedelta(minutes=5))
    assert stack.inbox.to("lister@agency.com.au") == []  # Registered sends nothing
    state = await handle.execute_update(
        DealWorkflow.move_stage, MoveStageRequest(stage="active_lister", reason="10 listings")
    )
    assert state.status == "won"
    result = await handle.result()
    assert result.status == "won"
    assert result.stage == "Active Lister"
    (message,) = stack.inbox.to("lister@agency.com.au")
    assert "Raj" in message.get_body(("plain",)).get_content()
