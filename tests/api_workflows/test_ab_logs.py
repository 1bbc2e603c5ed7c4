"""A/B results (issue 11, item 14): an email is logged with its variant only where its stage
had two subjects, so a B deal's follow-ups (one subject) no longer count as B; the email
log filters by stage and pipeline, so a result can be read per stage."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from models import PipelineStage
from tests.api_workflows.conftest import Api
from workflows.rules import ab_variant


def _stage_id(api: Api, pipeline_id: int, slug: str) -> int:
    with Session(api.stack.engine) as s:
        stage = s.exec(
            select(PipelineStage).where(
                PipelineStage.pipeline_id == pipeline_id, PipelineStage.slug == slug
            )
        ).one()
        return stage.id or 0


async def test_only_emails_with_two_subjects_carry_a_variant(api: Api) -> None:
    api.stack.open_window("desifirms")
    pipeline_id = api.pipeline_id("desifirms", "real_estate")
    contact_id = api.contact("ab@realty.com.au", brand="desifirms", name="Priya Sharma")
    r = await api.http.post(
        "/api/crm/deals/", json={"contact_id": contact_id, "pipeline_id": pipeline_id}
    )
    assert r.status_code == 201, r.text
    deal_id = r.json()["id"]
    assert ab_variant(deal_id) == "B"  # the first deal of an empty database
    await api.stack.env.sleep(timedelta(days=3, hours=2))  # Invited, then Follow-up 1
    assert len(api.stack.inbox.to("ab@realty.com.au")) == 2

    async def logs(**params: object) -> list[tuple[str, str]]:
        r = await api.http.get("/api/crm/email-logs/", params={"deal": deal_id, **params})
        assert r.status_code == 200, r.text
        return [(log["subject"], log["variant"]) for log in reversed(r.json()["items"])]

    invited, follow_up = await logs()
    # Invited has subjects A and B: this deal's is B. Follow-up 1 has one subject: no variant.
    assert invited == ("Reach South Asian buyers and renters across Australia", "B")
    assert follow_up[1] == ""
    assert await logs(variant="B") == [invited]
    assert await logs(variant="A") == []
    assert await logs(stage=_stage_id(api, pipeline_id, "invited")) == [invited]
    assert await logs(stage=_stage_id(api, pipeline_id, "follow_up_1")) == [follow_up]
    assert await logs(pipeline=pipeline_id) == [invited, follow_up]
    assert await logs(pipeline=api.pipeline_id("desifirms", "events")) == []
