"""Console actions in front of running deal workflows (time-skipping Temporal, a worker, an
SMTP inbox): the board's drag goes through the workflow's `move_stage` update and shows its
refusal; a review draft approved on Today reaches the contact; bulk actions; the deal page's
timeline."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from models import DraftKind, EmailDraft, PipelineStage
from tests.api_workflows.conftest import Api

HOUR = timedelta(hours=1)
JSON = {"Accept": "application/json"}


async def _deal(on: Api, email: str, *, pipeline: str = "real_estate") -> int:
    contact_id = on.contact(email, brand="desifirms", name="Priya Sharma")
    r = await on.http.post(
        "/api/crm/deals/",
        json={"contact_id": contact_id, "pipeline_id": on.pipeline_id("desifirms", pipeline)},
    )
    assert r.status_code == 201, r.text
    deal_id: int = r.json()["id"]
    return deal_id


def _stage(on: Api, pipeline_id: int, slug: str) -> int:
    with Session(on.stack.engine) as s:
        stage = s.exec(
            select(PipelineStage).where(
                PipelineStage.pipeline_id == pipeline_id, PipelineStage.slug == slug
            )
        ).one()
        return stage.id or 0


async def test_dragging_a_card_moves_the_deal_through_its_workflow(console) -> None:
    on, http, csrf = console
    on.stack.open_window("desifirms")
    deal_id = await _deal(on, "priya@sharma-realty.com.au")
    estate = on.pipeline_id("desifirms", "real_estate")
    preview = (await http.get(f"/console/deals/{deal_id}/preview")).text
    assert 'id="subject"' in preview
    assert "Rendered, not sent" in preview
    later = await http.post(
        f"/console/deals/{deal_id}/next-action",
        data={"csrf_token": csrf, "when": "2031-03-04T10:30", "reason": "after the expo"},
    )
    assert "next action is at 2031-03-04 10:30 UTC" in later.text
    assert on.deal(deal_id).next_action_at.isoformat().startswith("2031-03-04T10:30")
    responded = _stage(on, estate, "responded")
    moved = await http.post(
        f"/console/deals/{deal_id}/move",
        data={"stage_id": str(responded)},
        headers={**JSON, "X-CSRF-Token": csrf},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["ok"] is True
    state = (await on.http.get(f"/api/crm/deals/{deal_id}/state/")).json()
    assert state["stage"] == "Responded"
    assert on.deal(deal_id).stage_id == responded

    # A stage of another pipeline: the workflow refuses, the card's page is told why.
    other = _stage(on, on.pipeline_id("desifirms", "events"), "responded")
    refused = await http.post(
        f"/console/deals/{deal_id}/move",
        data={"stage_id": str(other)},
        headers={**JSON, "X-CSRF-Token": csrf},
    )
    assert refused.status_code == 409
    assert refused.json()["ok"] is False
    assert refused.json()["message"].startswith("Not done:")
    assert on.deal(deal_id).stage_id == responded
    # Without the token the drag is refused before anything happens.
    forged = await http.post(
        f"/console/deals/{deal_id}/move", data={"stage_id": str(estate)}, headers=JSON
    )
    assert forged.status_code == 403


async def test_approving_on_today_sends_the_email(console) -> None:
    on, http, csrf = console
    on.stack.open_window("desifirms", human_review=True)
    deal_id = await _deal(on, "raj@kumar-realty.com.au")
    await on.stack.env.sleep(HOUR)
    assert on.stack.inbox.messages == []
    with Session(on.stack.engine) as s:
        draft = s.exec(select(EmailDraft).where(EmailDraft.kind == DraftKind.review)).one()
    today = (await http.get("/console/")).text
    assert draft.subject in today
    page = await http.post(f"/console/review/{draft.id}/approve", data={"csrf_token": csrf})
    assert page.status_code == 200
    assert f"Draft {draft.id} approved" in page.text
    (message,) = on.stack.inbox.to("raj@kumar-realty.com.au")
    assert message["Subject"] == draft.subject
    again = await http.post(f"/console/review/{draft.id}/approve", data={"csrf_token": csrf})
    assert again.status_code == 409  # a duplicate submit: said so, nothing sent twice
    assert len(on.stack.inbox.to("raj@kumar-realty.com.au")) == 1
    # A stale page: the draft was decided meanwhile (here: by this same approval).
    edit = {"csrf_token": csrf, "subject": "Edited", "body": "Hi {{ contact.first_name }}"}
    stale = await http.post(f"/console/review/{draft.id}/edit", data=edit)
    assert stale.status_code == 409
    deal_page = (await http.get(f"/console/deals/{deal_id}")).text
    assert "in the Temporal Web UI" in deal_page
    assert "Timeline" in deal_page


async def test_edit_and_approve_from_the_review_queue(console) -> None:
    on, http, csrf = console
    on.stack.open_window("desifirms", human_review=True)
    await _deal(on, "meera@patel-homes.com.au")
    await on.stack.env.sleep(HOUR)
    with Session(on.stack.engine) as s:
        draft = s.exec(select(EmailDraft).where(EmailDraft.kind == DraftKind.review)).one()
    form = {"csrf_token": csrf, "back": "/console/review", "subject": "Hello {{ contact"}
    broken = await http.post(f"/console/review/{draft.id}/edit", data=form | {"body": "x"})
    assert "does not render" in broken.text
    assert on.stack.inbox.messages == []
    form |= {"subject": "A quick question", "body": "Hi {{ contact.first_name }}, one thing."}
    page = await http.post(f"/console/review/{draft.id}/edit", data=form)
    assert f"Draft {draft.id} edited and approved" in page.text
    (message,) = on.stack.inbox.to("meera@patel-homes.com.au")
    assert message["Subject"] == "A quick question"


async def test_bulk_pause_and_resume_from_the_board(console) -> None:
    on, http, csrf = console
    on.stack.open_window("desifirms")
    ids = [await _deal(on, f"agent{i}@realty.com.au") for i in range(2)]
    form = {"csrf_token": csrf, "action": "pause", "deal_ids": [str(i) for i in ids]}
    page = await http.post("/console/board/bulk", data=form)
    assert page.status_code == 200
    assert "pause: done for 2 of 2 deals." in page.text
    assert {on.deal(i).status for i in ids} == {"paused"}
    page = await http.post("/console/board/bulk", data=form | {"action": "resume"})
    assert {on.deal(i).status for i in ids} == {"active"}
