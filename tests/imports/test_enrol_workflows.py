"""Importing with a pipeline against real deal workflows (time-skipping Temporal server, a
worker, aiosmtpd): each new contact's deal starts after the commit and sends its own email."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from models import Deal, PipelineStage
from tests.api_workflows.conftest import Api, api  # noqa: F401 (fixture)
from tests.imports.helpers import csv_bytes
from tests.workflows.conftest import smtp, stack, time_env  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(180)]


async def test_import_enrols_new_contacts_and_their_workflows_send(api: Api) -> None:  # noqa: F811
    api.stack.open_window("desifirms")
    api.contact("known@realty.com.au", brand="desifirms", name="Known Agent")
    data = csv_bytes(
        [
            ["Email", "First Name", "Last Name", "Company"],
            ["priya@sharma-realty.com.au", "Priya", "Sharma", "Sharma Realty"],
            ["known@realty.com.au", "Known", "Agent", ""],
            ["raj@patel-homes.com.au", "Raj", "Patel", "Patel Homes"],
        ]
    )
    response = await api.http.post(
        "/api/crm/contacts/import/",
        data={"brand": "desifirms", "pipeline": "real_estate"},
        files={"file": ("agents.csv", data, "text/csv")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["created"], body["skipped"], body["deals_created"]) == (2, 1, 2)
    assert (body["workflows_started"], body["workflows_not_started"]) == (2, 0)
    assert body["workflow_note"] is None

    with Session(api.stack.engine) as s:
        rows = s.exec(
            select(Deal, PipelineStage).join(
                PipelineStage, col(PipelineStage.id) == col(Deal.stage_id)
            )
        ).all()
        first_stage = s.exec(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == api.pipeline_id("desifirms", "real_estate"))
            .order_by(col(PipelineStage.order))
        ).first()
    assert first_stage is not None
    assert len(rows) == 2
    for deal, stage in rows:
        assert stage.id == first_stage.id
        assert deal.workflow_id == f"deal-{deal.id}"

    await api.stack.env.sleep(timedelta(hours=1))
    for email, name in (("priya@sharma-realty.com.au", "Priya"), ("raj@patel-homes.com.au", "Raj")):
        messages = api.stack.inbox.to(email)
        assert len(messages) == 1
        assert name in messages[0].get_body(("plain",)).get_content()
    assert api.stack.inbox.to("known@realty.com.au") == []
