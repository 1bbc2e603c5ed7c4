"""Link verification with real deal workflows (time-skipping server): a placed link moves the
deal to Link Placed, through the API and through the scheduled LinkCheckWorkflow."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from models import AIDecisionLog, BacklinkOpportunity, Brand, Deal, session_scope
from tests.api_workflows.conftest import Api
from tests.backlinks.pages import Pages
from tests.workflows.conftest import Stack
from workflows.deal import DealWorkflow
from workflows.link_checks import LinkCheckInput, LinkCheckWorkflow

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(180)]


def _opportunity(stack: Stack, url: str, **fields: object) -> int:
    with session_scope(stack.engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        row = BacklinkOpportunity(
            brand_id=brand.id or 0,
            target_url=url,
            target_domain="127.0.0.1",
            our_content_url=f"https://{brand.domain}/guides/web-apps",
            **fields,
        )
        s.add(row)
        s.flush()
        return row.id or 0


def _opp(stack: Stack, opportunity_id: int) -> BacklinkOpportunity:
    with Session(stack.engine) as s:
        row = s.get(BacklinkOpportunity, opportunity_id)
        assert row is not None
        return row


async def test_verified_link_moves_the_enrolled_deal_to_link_placed(api: Api, pages: Pages) -> None:
    # Codeteki sends through the test SMTP server, window always open: what the deal does
    # before its link is found must not depend on the hour the test runs at.
    api.stack.open_window("codeteki")
    url = pages.set("roundup", "<h1>Web app roundup</h1><p>Coming soon.</p>")
    opp_id = _opportunity(
        api.stack, url, source_data={"Contact email": "editor@roundup.example.org"}
    )
    enrolled = await api.http.post("/api/crm/backlinks/enrol/", json={"ids": [opp_id]})
    assert enrolled.status_code == 201, enrolled.text
    (item,) = enrolled.json()["enrolled"]
    assert item["workflow_id"] == f"deal-{item['deal_id']}"
    await api.stack.env.sleep(timedelta(minutes=5))  # the workflow loads its deal

    missing = (await api.http.post(f"/api/crm/backlinks/{opp_id}/verify/")).json()
    assert (missing["check"]["link_check"], missing["check"]["deal_moved"]) == ("missing", False)
    assert api.deal(item["deal_id"]).status == "active"

    pages.set(
        "roundup",
        "<p>Great write-up: <a href='https://codeteki.au/guides/web-apps/'>building web apps"
        "</a></p>",
    )
    placed = (await api.http.post(f"/api/crm/backlinks/{opp_id}/verify/")).json()
    assert placed["check"]["link_check"] == "found"
    assert placed["check"]["deal_moved"] is True, placed["check"]["deal_note"]
    assert placed["opportunity"]["status"] == "placed"
    state = (await api.http.get(f"/api/crm/deals/{item['deal_id']}/state/")).json()
    assert (state["stage"], state["status"]) == ("Link Placed", "won")
    deal = api.deal(item["deal_id"])
    assert deal.status == "won"
    timeline = (await api.http.get(f"/api/crm/deals/{item['deal_id']}/timeline/")).json()
    assert any("Link Placed" in entry["text"] for entry in timeline), timeline

    # Checked again: the deal is closed now, nothing more to move.
    again = (await api.http.post(f"/api/crm/backlinks/{opp_id}/verify/")).json()
    assert (again["check"]["link_check"], again["check"]["deal_moved"]) == ("found", False)


async def test_link_check_workflow_verifies_in_batches_and_moves_deals(
    stack: Stack,
    pages: Pages,
) -> None:
    stack.open_window("codeteki")  # independent of the hour the test runs at
    deal_id, handle = await stack.enrol(
        "owner@links.example.org", brand="codeteki", pipeline="backlink"
    )
    await stack.env.sleep(timedelta(minutes=5))
    placed_url = pages.set("links", "<a href='https://www.codeteki.au/'>Codeteki</a>")
    placed = _opportunity(stack, placed_url, status="outreaching", deal_id=deal_id)
    broken = _opportunity(stack, pages.url("/status/404"), status="placed")
    missing = _opportunity(stack, pages.set("plain", "<p>hello</p>"), status="outreaching")
    _opportunity(stack, pages.url("/page/other"), status="new")  # not checked

    async def run() -> object:
        return await stack.client.execute_workflow(
            LinkCheckWorkflow.run,
            LinkCheckInput(brand="codeteki", batch_size=2),
            id=f"link-check-{uuid.uuid4().hex[:8]}",
            task_queue=stack.task_queue,
        )

    report = await run()
    assert (report.checked, report.found, report.missing, report.errors) == (3, 1, 1, 1)
    assert (report.deals_moved, report.failed_batches) == (1, 0)
    state = await handle.query(DealWorkflow.state)
    assert (state.stage, state.status) == ("Link Placed", "won")
    assert _opp(stack, broken).link_check_error == "HTTP 404"
    assert _opp(stack, missing).link_check == "missing"

    pages.set("links", "<p>Links page retired.</p>")
    second = await run()
    assert (second.removed, second.removed_ids) == (1, [placed])
    with Session(stack.engine) as s:
        note = s.exec(
            select(AIDecisionLog).where(AIDecisionLog.action_taken == "link_removed")
        ).one()
        deal = s.get(Deal, deal_id)
    assert note.deal_id == deal_id
    assert "is gone" in note.reasoning
    assert deal is not None
    assert deal.status == "won"  # a removed link is reported; the deal's history stays
