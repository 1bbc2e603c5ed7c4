"""Human review mode on the time-skipping server: the autopilot's emails wait as drafts for a
person, and only what a person approved (or edited) reaches the contact."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from dealpilot.temporal.deals import DealWorkflows
from models import DraftKind, DraftStatus, EmailDraft, Pipeline, session_scope
from tests.workflows.conftest import Stack
from tests.workflows.helpers import sent_logs
from tests.workflows.histories import record
from workflows.contracts import DealStateView, MoveStageRequest, ReplyEvent, ReviewDecision
from workflows.deal import DealWorkflow
from workflows.deal_memory import (
    DealInput,
    DealMemory,
    PendingReview,
    current_details,
    state_view,
    wait_summary,
)

HOUR = timedelta(hours=1)
PRIYA = "priya@sharma-realty.com.au"


def drafts(stack: Stack, deal_id: int) -> list[EmailDraft]:
    with Session(stack.engine) as s:
        return list(
            s.exec(
                select(EmailDraft).where(EmailDraft.deal_id == deal_id).order_by(col(EmailDraft.id))
            ).all()
        )


async def enrol_reviewed(stack: Stack, email: str = PRIYA) -> tuple[int, WorkflowHandle]:
    stack.open_window("desifirms", human_review=True)
    deal_id, handle = await stack.enrol(
        email, brand="desifirms", pipeline="real_estate", name="Priya Sharma"
    )
    await stack.env.sleep(HOUR)
    return deal_id, handle


async def review(handle: WorkflowHandle, **decision: object) -> DealStateView:
    result: DealStateView = await handle.execute_update(
        DealWorkflow.review_draft,
        ReviewDecision(**decision),  # type: ignore[arg-type]
    )
    return result


async def test_nothing_is_sent_until_approved_then_the_exact_draft_goes(stack: Stack) -> None:
    deal_id, handle = await enrol_reviewed(stack)

    assert stack.inbox.to(PRIYA) == []
    (draft,) = drafts(stack, deal_id)
    assert draft.status == DraftStatus.pending_review
    assert (draft.step, draft.email_type) == (1, "review")
    assert draft.variant in ("A", "B")
    assert draft.contact_id is not None
    assert draft.stage_id is not None
    assert draft.recipients == [PRIYA]
    assert "Priya" in draft.body
    state: DealStateView = await handle.query(DealWorkflow.state)
    assert state.review_draft_id == draft.id
    assert state.next_action_reason == "waiting for review"
    assert (state.stage, state.emails_sent) == ("Agent Found", 0)

    # A week passes: still nothing sent, still one draft (the workflow waits, no re-drafting).
    await stack.env.sleep(timedelta(days=7))
    assert stack.inbox.to(PRIYA) == []
    assert len(drafts(stack, deal_id)) == 1

    state = await review(handle, draft_id=draft.id, action="approve", reviewer="ana")
    assert (state.stage, state.emails_sent, state.review_draft_id) == ("Invited", 1, None)
    (message,) = stack.inbox.to(PRIYA)
    assert message["Subject"] == draft.subject
    (log,) = sent_logs(stack.engine, deal_id)
    assert (log.subject, log.variant) == (draft.subject, draft.variant)
    assert "/api/crm/track/open/" in log.body  # tracked like any stage email
    assert "Priya" in message.get_body(("plain",)).get_content()
    (sent,) = drafts(stack, deal_id)
    assert sent.status == DraftStatus.sent
    assert sent.reviewed_at is not None
    assert sent.outcome["reviewer"] == "ana"

    # Approving the same draft again is refused; the email went once.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await review(handle, draft_id=draft.id, action="approve")
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "NoPendingReview"
    assert len(stack.inbox.to(PRIYA)) == 1

    # The follow-up is held for review too.
    await stack.env.sleep(timedelta(days=3, hours=12))
    assert len(stack.inbox.to(PRIYA)) == 1
    second = drafts(stack, deal_id)[-1]
    assert (second.status, second.step) == (DraftStatus.pending_review, 2)
    timeline = await handle.query(DealWorkflow.timeline)
    assert [e.kind for e in timeline].count("review") == 3  # held, approved, held
    await record(handle, "review_approved")


async def test_edit_sends_the_edited_text_rendered_for_the_contact(stack: Stack) -> None:
    deal_id, handle = await enrol_reviewed(stack)
    (draft,) = drafts(stack, deal_id)
    state = await review(
        handle,
        draft_id=draft.id,
        action="edit",
        subject="Quick one for {{ contact.first_name }}",
        body="Rewritten by a person for {{ contact.first_name }}.\n\nSecond paragraph.",
        note="friendlier",
    )
    assert state.emails_sent == 1
    (message,) = stack.inbox.to(PRIYA)
    assert message["Subject"] == "Quick one for Priya"
    text = message.get_body(("plain",)).get_content()
    assert "Rewritten by a person for Priya." in text
    assert "Second paragraph." in text
    (edited,) = drafts(stack, deal_id)
    assert edited.subject == "Quick one for {{ contact.first_name }}"
    assert (edited.status, edited.review_note) == (DraftStatus.sent, "friendlier")


async def test_reject_sends_nothing_and_pauses(stack: Stack) -> None:
    deal_id, handle = await enrol_reviewed(stack)
    (draft,) = drafts(stack, deal_id)
    state = await review(
        handle, draft_id=draft.id, action="reject", note="wrong tone", reviewer="ana"
    )
    assert (state.status, state.emails_sent, state.review_draft_id) == ("paused", 0, None)
    (rejected,) = drafts(stack, deal_id)
    assert (rejected.status, rejected.review_note) == (DraftStatus.rejected, "wrong tone")
    timeline = await handle.query(DealWorkflow.timeline)
    assert "rejected by ana: wrong tone" in timeline[-1].text
    await stack.env.sleep(timedelta(days=5))
    assert stack.inbox.to(PRIYA) == []

    # An operator resumes: the autopilot drafts the email again, for review again.
    await handle.signal(DealWorkflow.resume)
    await stack.env.sleep(HOUR)
    first, again = drafts(stack, deal_id)
    assert again.status == DraftStatus.pending_review
    assert again.step == first.step == 1
    assert stack.inbox.to(PRIYA) == []


async def test_a_reply_while_waiting_discards_the_draft(stack: Stack) -> None:
    deal_id, handle = await enrol_reviewed(stack)
    (draft,) = drafts(stack, deal_id)
    await handle.signal(
        DealWorkflow.reply_received,
        ReplyEvent(text="Sounds good, call me Tuesday", subject="Re: your listing"),
    )
    await stack.env.sleep(HOUR)
    state: DealStateView = await handle.query(DealWorkflow.state)
    assert state.review_draft_id is None
    assert state.stage == "Responded"
    rows = drafts(stack, deal_id)
    assert rows[0].status == DraftStatus.rejected
    assert rows[0].review_note == "superseded: the contact replied"
    assert stack.inbox.to(PRIYA) == []
    with pytest.raises(WorkflowUpdateFailedError):
        await review(handle, draft_id=draft.id, action="approve")
    assert stack.inbox.to(PRIYA) == []


async def test_unsubscribe_while_waiting_never_sends(stack: Stack) -> None:
    deal_id, handle = await enrol_reviewed(stack)
    (draft,) = drafts(stack, deal_id)
    await handle.signal(DealWorkflow.unsubscribed)
    result: DealStateView = await handle.result()
    assert (result.status, result.lost_reason) == ("lost", "unsubscribed")
    (row,) = drafts(stack, deal_id)
    assert (row.status, row.review_note) == (DraftStatus.rejected, "superseded: unsubscribed")
    assert stack.inbox.to(PRIYA) == []
    with pytest.raises(Exception):  # noqa: B017,PT011 (the workflow has completed)
        await review(handle, draft_id=draft.id, action="approve")
    assert stack.inbox.to(PRIYA) == []


async def test_a_wrong_draft_id_or_an_empty_edit_is_refused(stack: Stack) -> None:
    deal_id, handle = await enrol_reviewed(stack)
    (draft,) = drafts(stack, deal_id)
    for decision, wanted in (
        ({"draft_id": (draft.id or 0) + 100, "action": "approve"}, "NotPendingReview"),
        ({"draft_id": draft.id, "action": "edit", "subject": "Hi"}, "InvalidInput"),
        ({"draft_id": draft.id, "action": "send"}, "InvalidInput"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await review(handle, **decision)
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == wanted
    assert stack.inbox.to(PRIYA) == []
    assert drafts(stack, deal_id)[0].status == DraftStatus.pending_review


async def test_continue_as_new_keeps_the_pending_review(stack: Stack) -> None:
    stack.open_window("desifirms", human_review=True)
    start = stack.create_deal(PRIYA, brand="desifirms", pipeline="real_estate", name="Priya")
    started = await stack.client.start_workflow(
        DealWorkflow.run,
        DealInput(deal_id=start.deal_id, continue_as_new_after=1),
        id=f"deal-{start.deal_id}",
        task_queue=stack.task_queue,
    )
    handle = stack.client.get_workflow_handle_for(DealWorkflow.run, started.id)
    await stack.env.sleep(HOUR)
    (draft,) = drafts(stack, start.deal_id)
    first_run = stack.client.get_workflow_handle(started.id, run_id=started.result_run_id)
    history = await first_run.fetch_history()
    assert history.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
    state = await review(handle, draft_id=draft.id, action="approve")
    assert state.emails_sent == 1
    assert len(stack.inbox.to(PRIYA)) == 1


async def test_composer_first_email_skips_review_and_review_off_sends(stack: Stack) -> None:
    stack.open_window("desifirms")
    with session_scope(stack.engine) as s:
        brand = stack.brand("desifirms")
        pipeline = s.exec(
            select(Pipeline).where(Pipeline.brand_id == brand.id, Pipeline.slug == "real_estate")
        ).one()
        pipeline.human_review = True  # review mode per pipeline
        s.add(pipeline)
        draft = EmailDraft(
            kind=DraftKind.composer,
            brand_id=brand.id or 0,
            subject="Hello {{ contact.first_name }}",
            body="Written.",
        )
        s.add(draft)
        s.flush()
        draft_id = draft.id
    start = stack.create_deal(PRIYA, brand="desifirms", pipeline="real_estate", name="Priya")
    await DealWorkflows(stack.client, stack.task_queue).start(
        dataclasses.replace(start, draft_id=draft_id)
    )
    other_id, other = await stack.enrol(
        "raj@kumar-homes.com.au", brand="desifirms", pipeline="business_listings"
    )
    await stack.env.sleep(HOUR)
    (composed,) = stack.inbox.to(PRIYA)
    assert composed["Subject"] == "Hello Priya"
    assert len(stack.inbox.to("raj@kumar-homes.com.au")) == 1  # another pipeline: no review
    assert drafts(stack, other_id) == []
    # The follow-up is an autopilot email: in this pipeline it waits for review.
    await stack.env.sleep(timedelta(days=3, hours=12))
    assert len(stack.inbox.to(PRIYA)) == 1
    (held,) = drafts(stack, start.deal_id)
    assert (held.status, held.step) == (DraftStatus.pending_review, 2)
    state: DealStateView = await other.query(DealWorkflow.state)
    assert state.review_draft_id is None


def test_the_web_ui_texts_say_the_deal_waits_for_review() -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    m = DealMemory(
        deal_id=7,
        brand="desifirms",
        pipeline="Real Estate",
        contact_email=PRIYA,
        contact_name="Priya",
        stage_id=1,
        stage_name="Agent Found",
        status="active",
        tier="new",
        stage_entered_at=now,
        next_action_at=None,
        next_action_reason="waiting for review",
        review=PendingReview(
            draft_id=42, stage_id=2, stage_name="Invited", step=1, since=now, subject="Hello"
        ),
    )
    assert "Invited email waits for review" in wait_summary(m, now)
    details = current_details(m)
    assert "Next: waiting for review" in details
    assert "draft 42 \u201cHello\u201d (Invited) waiting for review since 2026-11-23" in details
    assert state_view(m).review_draft_id == 42


async def test_a_won_stage_welcome_email_waits_for_review_then_the_deal_ends(
    stack: Stack,
) -> None:
    stack.open_window("desifirms", human_review=True)
    deal_id, handle = await stack.enrol(
        "lister@agency.com.au", brand="desifirms", pipeline="agents_agencies", name="Raj Patel"
    )
    await stack.env.sleep(timedelta(minutes=5))
    state = await handle.execute_update(
        DealWorkflow.move_stage, MoveStageRequest(stage="active_lister", reason="10 listings")
    )
    assert (state.status, state.stage) == ("won", "Active Lister")
    await stack.env.sleep(HOUR)
    assert stack.inbox.to("lister@agency.com.au") == []
    (draft,) = drafts(stack, deal_id)
    assert draft.status == DraftStatus.pending_review
    state = await review(handle, draft_id=draft.id, action="approve")
    assert (state.status, state.emails_sent) == ("won", 1)
    result: DealStateView = await handle.result()
    assert (result.status, result.review_draft_id) == ("won", None)
    (message,) = stack.inbox.to("lister@agency.com.au")
    assert "Raj" in message.get_body(("plain",)).get_content()


async def test_an_approval_outside_the_send_window_goes_when_it_opens(stack: Stack) -> None:
    deal_id, handle = await enrol_reviewed(stack)
    (draft,) = drafts(stack, deal_id)
    brand = stack.brand("desifirms")
    now = (await stack.env.get_current_time()).astimezone(ZoneInfo(brand.timezone))
    start = (now + timedelta(hours=6)).replace(minute=0, second=0, microsecond=0).time()
    end = time(min(start.hour + 3, 23), 59)
    stack.open_window("desifirms", human_review=True, send_window_start=start, send_window_end=end)

    state = await review(handle, draft_id=draft.id, action="approve")
    assert state.emails_sent == 0
    assert state.next_action_reason == "approved Invited email when the window opens"
    assert state.review_draft_id == draft.id
    assert stack.inbox.to(PRIYA) == []
    await stack.env.sleep(timedelta(hours=12))
    (message,) = stack.inbox.to(PRIYA)
    assert message["Subject"] == draft.subject
    (log,) = sent_logs(stack.engine, deal_id)
    assert log.sent_at is not None
    local = log.sent_at.astimezone(ZoneInfo(brand.timezone)).time()
    assert start <= local <= end
    state = await handle.query(DealWorkflow.state)
    assert (state.stage, state.review_draft_id) == ("Invited", None)
