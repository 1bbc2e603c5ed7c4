"""Stages after a reply send what a person expects (issue 11, item 12): a welcome when a deal
is won, the next step after signing up, and a proposal follow-up offered as a ready draft in
the review queue for a person to send. Before, these stages sent nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from models import DraftKind, DraftStatus, EmailDraft
from tests.workflows.conftest import Stack
from workflows.contracts import MoveStageRequest, ReviewDecision
from workflows.deal import DealWorkflow


def _subjects(stack: Stack, email: str) -> list[str]:
    return [str(m["Subject"]) for m in stack.inbox.to(email)]


async def test_a_won_client_gets_a_welcome_and_the_proposal_follow_up_waits_for_a_person(
    stack: Stack,
) -> None:
    email = "anita@chai-corner.com.au"
    stack.open_window("codeteki")
    deal_id, handle = await stack.enrol(email, brand="codeteki", pipeline="sales", name="Anita")
    await stack.env.sleep(timedelta(hours=1))
    assert len(_subjects(stack, email)) == 1  # the intro
    await handle.execute_update(DealWorkflow.move_stage, MoveStageRequest(stage="proposal"))
    await stack.env.sleep(timedelta(days=3))
    assert len(_subjects(stack, email)) == 1  # a ready draft: nothing goes by itself
    with Session(stack.engine) as s:
        (draft,) = s.exec(select(EmailDraft).where(EmailDraft.deal_id == deal_id)).all()
    assert (draft.kind, draft.status) == (DraftKind.review, DraftStatus.pending_review)
    assert draft.subject == "Your proposal from Codeteki: any questions?"
    state = await handle.query(DealWorkflow.state)
    assert state.review_draft_id == draft.id

    await handle.execute_update(
        DealWorkflow.review_draft, ReviewDecision(draft_id=draft.id or 0, action="approve")
    )
    await stack.env.sleep(timedelta(hours=1))
    assert _subjects(stack, email)[-1] == "Your proposal from Codeteki: any questions?"

    state = await handle.execute_update(DealWorkflow.move_stage, MoveStageRequest(stage="client"))
    assert state.status == "won"
    result = await handle.result()
    assert (result.status, result.stage) == ("won", "Client")
    assert _subjects(stack, email)[-1] == "Welcome to Codeteki: what happens next"
    welcome = stack.inbox.to(email)[-1].get_body(("plain",))
    assert welcome is not None
    assert "kickoff" in welcome.get_content()


async def test_signing_up_sends_the_next_step(stack: Stack) -> None:
    email = "owner@spice-route.com.au"
    stack.open_window("desifirms")
    _deal_id, handle = await stack.enrol(
        email, brand="desifirms", pipeline="business_listings", name="Sam"
    )
    await stack.env.sleep(timedelta(hours=1))
    await handle.execute_update(DealWorkflow.move_stage, MoveStageRequest(stage="signed_up"))
    await stack.env.sleep(timedelta(hours=1))
    assert _subjects(stack, email)[-1] == "Welcome to Desi Firms: add your business next"
    await handle.execute_update(DealWorkflow.move_stage, MoveStageRequest(stage="listed"))
    result = await handle.result()
    assert result.status == "won"
    # No company known: the subject's fallback.
    assert _subjects(stack, email)[-1] == "Your business is live on Desi Firms"
