"""Signing up stops the invitations (issue 11, item 11): a sign-up event enrols the contact in
its Registered Users pipeline and moves the directory deal that was inviting them to its
signed-up stage, so the cold sequence ends; a listing moves both forward. Forward only, and
the workflow itself refuses a move that is not forward, whichever API replica asks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models import Deal, Pipeline, PipelineStage
from tests.api_workflows.conftest import Api
from tests.workflows.helpers import record_open, sent_logs
from workflows.contracts import MoveStageRequest
from workflows.deal import DealWorkflow

URL = "/api/crm/events/product"
OWNER = "owner@spice-route.com.au"
DAY = timedelta(days=1)


def _deals(api: Api) -> dict[str, tuple[str, str]]:
    """pipeline slug -> (stage name, status) of each of the contact's deals."""
    with Session(api.stack.engine) as s:
        rows = s.exec(
            select(Pipeline.slug, PipelineStage.name, Deal.status)
            .join(Pipeline, Pipeline.id == Deal.pipeline_id)  # type: ignore[arg-type]
            .join(PipelineStage, PipelineStage.id == Deal.stage_id)  # type: ignore[arg-type]
        ).all()
    return {slug: (stage, str(status)) for slug, stage, status in rows}


async def _event(api: Api, event: str) -> dict[str, Any]:
    r = await api.http.post(URL, json={"brand": "desifirms", "email": OWNER, "event": event})
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_business_that_signs_up_gets_no_more_invitations(api: Api) -> None:
    api.stack.open_window("desifirms")
    contact_id = api.contact(OWNER, brand="desifirms", name="Sam Lee")
    r = await api.http.post(
        "/api/crm/deals/",
        json={
            "contact_id": contact_id,
            "pipeline_id": api.pipeline_id("desifirms", "business_listings"),
        },
    )
    assert r.status_code == 201, r.text
    directory_deal = r.json()["id"]
    await api.stack.env.sleep(timedelta(hours=1))
    assert len(api.stack.inbox.to(OWNER)) == 1  # the first invitation
    # They read it (and signed up): an engaged contact, never closed as a ghost meanwhile.
    record_open(api.stack.engine, sent_logs(api.stack.engine, directory_deal)[0])

    signed_up = await _event(api, "business_registered")
    outcomes = {x["pipeline_slug"]: (x["outcome"], x["to_stage"]) for x in signed_up["results"]}
    assert outcomes == {
        "registered_business": ("enrolled", "Registered"),
        "business_listings": ("moved", "Signed Up"),
    }
    await api.stack.env.sleep(10 * DAY)  # Follow-ups 1 and 2 of the invitation would be due
    subjects = [str(m["Subject"]) for m in api.stack.inbox.to(OWNER)]
    # The invitation, then only the Registered Users nudges: no more invitations.
    assert len(subjects) >= 2
    assert not any("listing includes" in s or "keep a spot" in s for s in subjects), subjects
    assert _deals(api)["business_listings"] == ("Signed Up", "active")

    listed = await _event(api, "business_listed")
    outcomes = {x["pipeline_slug"]: (x["outcome"], x["to_stage"]) for x in listed["results"]}
    assert outcomes == {
        "registered_business": ("moved", "Listed"),
        "business_listings": ("moved", "Listed"),
    }
    assert _deals(api) == {
        "registered_business": ("Listed", "won"),
        "business_listings": ("Listed", "won"),
    }
    # Idle before the end: the won stages' welcome emails go out meanwhile.
    await api.stack.env.sleep(timedelta(hours=1))


async def test_the_workflow_refuses_a_forward_only_move_that_is_not_forward(api: Api) -> None:
    api.stack.open_window("desifirms")
    deal_id, handle = await api.stack.enrol(
        "lister@agency.com.au", brand="desifirms", pipeline="agents_agencies", name="Raj"
    )
    await api.stack.env.sleep(timedelta(minutes=5))
    forward = MoveStageRequest(stage="team_invited", actor="product_event", forward_only=True)
    state = await handle.execute_update(DealWorkflow.move_stage, forward)
    assert state.stage == "Team Invited"
    for stage, refused in (("team_invited", "AlreadyAtStage"), ("profile_complete", "NotForward")):
        back = MoveStageRequest(stage=stage, actor="product_event", forward_only=True)
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await handle.execute_update(DealWorkflow.move_stage, back)
        assert isinstance(failed.value.cause, ApplicationError)
        assert failed.value.cause.type == refused
    # A person may still move a deal back (no forward_only).
    state = await handle.execute_update(
        DealWorkflow.move_stage, MoveStageRequest(stage="registered")
    )
    assert state.stage == "Registered"
    assert deal_id
