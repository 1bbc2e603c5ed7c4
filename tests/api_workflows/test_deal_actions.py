"""Deals through the REST API with their workflows running: what the contact receives, what
the database shows, and the errors a client gets when the workflow says no."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, func, select

from models import AIDecisionLog, DraftStatus, EmailDraft, EmailLog, PipelineStage
from tests.api.helpers import assert_error
from tests.api_workflows.conftest import Api, api_app, client_for
from tests.workflows.conftest import Stack
from tests.workflows.helpers import sent_logs
from workflows.deal import DealWorkflow

DAY = timedelta(days=1)


def _count(stack: Stack, model: type) -> int:
    with Session(stack.engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


async def _create(api: Api, email: str, *, brand: str = "desifirms", pipeline: str = "real_estate"):
    contact_id = api.contact(email, brand=brand, name="Priya Sharma")
    r = await api.http.post(
        "/api/crm/deals/",
        json={"contact_id": contact_id, "pipeline_id": api.pipeline_id(brand, pipeline)},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_created_deal_starts_its_workflow_and_the_intro_email_arrives(api: Api) -> None:
    api.stack.open_window("desifirms")
    deal = await _create(api, "priya@sharma-realty.com.au")
    assert deal["workflow_id"] == f"deal-{deal['id']}"
    assert api.deal(deal["id"]).workflow_id == deal["workflow_id"]
    await api.stack.env.sleep(timedelta(hours=1))

    messages = api.stack.inbox.to("priya@sharma-realty.com.au")
    assert len(messages) == 1
    assert "Priya" in messages[0].get_body(("plain",)).get_content()
    state = (await api.http.get(f"/api/crm/deals/{deal['id']}/state/")).json()
    assert (state["stage"], state["status"], state["emails_sent"]) == ("Invited", "active", 1)
    timeline = (await api.http.get(f"/api/crm/deals/{deal['id']}/timeline/")).json()
    assert any(e["kind"] == "email" for e in timeline)
    listed = (await api.http.get("/api/crm/deals/?has_workflow=true")).json()
    assert [d["id"] for d in listed["items"]] == [deal["id"]]


async def test_bulk_enrolment_starts_one_workflow_per_new_deal(api: Api) -> None:
    api.stack.open_window("desifirms")
    pipeline_id = api.pipeline_id("desifirms", "real_estate")
    ids = [api.contact(f"agent{i}@realty.com.au", brand="desifirms") for i in range(4)]
    busy = api.contact("busy@realty.com.au", brand="desifirms")
    first = await api.http.post(
        "/api/crm/deals/bulk/", json={"pipeline_id": pipeline_id, "contact_ids": [busy]}
    )
    assert first.status_code == 201, first.text
    other_brand = api.contact("codeteki-only@example.com", brand="codeteki")

    r = await api.http.post(
        "/api/crm/deals/bulk/",
        json={
            "pipeline_id": pipeline_id,
            "contact_ids": [*ids, busy, ids[0], other_brand, 999999],
            "emails": ["New.Agent@Realty.com.au", "not-an-email"],
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert len(body["created"]) == 5
    assert body["workflows_started"] == 5
    assert all(c["workflow_id"] == f"deal-{c['deal_id']}" for c in body["created"])
    assert "new.agent@realty.com.au" in {c["email"] for c in body["created"]}
    reasons = {(s["contact_id"], s["reason"]) for s in body["skipped"]}
    assert (busy, "open_deal_exists") in reasons
    assert (ids[0], "duplicate") in reasons
    assert (other_brand, "brand_mismatch") in reasons
    assert (999999, "unknown_contact") in reasons
    assert "invalid_email" in {s["reason"] for s in body["skipped"]}

    await api.stack.env.sleep(timedelta(hours=1))
    for created in body["created"]:
        assert len(api.stack.inbox.to(created["email"])) == 1, created
    assert len(api.stack.inbox.messages) == 6  # and the first request's one


async def test_bulk_body_is_limited(api: Api) -> None:
    r = await api.http.post(
        "/api/crm/deals/bulk/", json={"pipeline_id": 1, "contact_ids": list(range(1, 5002))}
    )
    assert_error(r, 422, "validation_error")
    assert_error(await api.http.post("/api/crm/deals/bulk/", json={"pipeline_id": 1}), 422)


async def test_move_stage_goes_through_the_workflow(api: Api) -> None:
    api.stack.open_window("codeteki")
    deal = await _create(api, "mover@example.com.au", brand="codeteki", pipeline="sales")
    await api.stack.env.sleep(timedelta(minutes=30))
    url = f"/api/crm/deals/{deal['id']}/move-stage/"
    with Session(api.stack.engine) as s:
        foreign = s.exec(select(PipelineStage).where(PipelineStage.slug == "link_placed")).first()
    assert foreign is not None

    error = assert_error(await api.http.post(url, json={"stage_id": foreign.id}), 422)
    assert error["code"] == "invalid_stage"
    assert_error(await api.http.post(url, json={"stage": "no_such_stage"}), 422, "invalid_stage")
    assert_error(await api.http.post(url, json={}), 422, "validation_error")
    unchanged = (await api.http.get(f"/api/crm/deals/{deal['id']}/")).json()
    assert unchanged["stage_name"] == "Intro Sent"
    state = (await api.http.get(f"/api/crm/deals/{deal['id']}/state/")).json()
    assert state["stage"] == "Intro Sent"

    moved = await api.http.post(url, json={"stage": "discovery_call"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["stage_name"], moved.json()["status"]) == ("Discovery Call", "active")
    nxt = await api.http.post(f"/api/crm/deals/{deal['id']}/next-stage/")
    assert nxt.status_code == 200, nxt.text
    assert nxt.json()["stage_id"] != moved.json()["stage_id"]
    # PATCH: the stage through the workflow, the value straight to the row. (A stage the
    # autopilot does not act on, so the workflow is idle when the test ends.)
    patched = await api.http.patch(
        f"/api/crm/deals/{deal['id']}/", json={"stage_id": moved.json()["stage_id"], "value": "250"}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["stage_name"], patched.json()["value"]) == ("Discovery Call", "250.00")


async def test_a_deal_without_a_workflow_is_409_until_started(api: Api) -> None:
    """Created while Temporal was not there: kept, workflow_id null, then started by /start/."""
    api.stack.open_window("desifirms")
    async with client_for(api_app(api.stack, temporal=False)) as offline:
        contact_id = api.contact("later@realty.com.au", brand="desifirms")
        r = await offline.post(
            "/api/crm/deals/",
            json={
                "contact_id": contact_id,
                "pipeline_id": api.pipeline_id("desifirms", "real_estate"),
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["workflow_id"] is None
        assert_error(await offline.post(f"/api/crm/deals/{r.json()['id']}/pause/"), 503)
    deal_id = r.json()["id"]
    waiting = (await api.http.get("/api/crm/deals/?has_workflow=false")).json()["items"]
    assert [d["id"] for d in waiting] == [deal_id]

    assert_error(await api.http.post(f"/api/crm/deals/{deal_id}/mark-won/"), 409, "no_workflow")
    assert_error(await api.http.get(f"/api/crm/deals/{deal_id}/state/"), 409, "no_workflow")
    started = await api.http.post(f"/api/crm/deals/{deal_id}/start/")
    assert started.status_code == 200, started.text
    assert started.json()["workflow_id"] == f"deal-{deal_id}"
    again = await api.http.post(f"/api/crm/deals/{deal_id}/start/")  # idempotent
    assert again.json()["workflow_id"] == f"deal-{deal_id}"
    await api.stack.env.sleep(timedelta(hours=1))
    assert len(api.stack.inbox.to("later@realty.com.au")) == 1


async def test_mark_won_closes_the_deal_and_completes_the_workflow(api: Api) -> None:
    api.stack.open_window("desifirms")
    deal = await _create(api, "winner@realty.com.au")
    await api.stack.env.sleep(timedelta(minutes=30))

    r = await api.http.post(f"/api/crm/deals/{deal['id']}/mark-won/", json={"reason": "signed"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["stage_name"]) == ("won", "Listing Properties")
    assert api.deal(deal["id"]).status == "won"
    handle = api.stack.client.get_workflow_handle_for(DealWorkflow.run, deal["workflow_id"])
    result = await handle.result()  # the workflow completed
    assert (result.status, result.stage) == ("won", "Listing Properties")

    base = f"/api/crm/deals/{deal['id']}"
    assert_error(await api.http.post(f"{base}/mark-lost/"), 409, "deal_closed")
    assert_error(await api.http.post(f"{base}/pause/"), 409, "deal_closed")
    assert_error(await api.http.post(f"{base}/send-now/"), 409, "deal_closed")
    assert_error(await api.http.post(f"{base}/move-stage/", json={"stage": "invited"}), 409)


async def test_mark_lost_through_patch_keeps_the_reason(api: Api) -> None:
    api.stack.open_window("desifirms")
    deal = await _create(api, "loser@realty.com.au")
    await api.stack.env.sleep(timedelta(minutes=30))
    r = await api.http.patch(
        f"/api/crm/deals/{deal['id']}/", json={"status": "lost", "lost_reason": "went elsewhere"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["lost_reason"]) == ("lost", "went elsewhere")


async def test_pause_stops_the_emails_and_resume_sends_the_follow_up(api: Api) -> None:
    api.stack.open_window("desifirms")
    deal = await _create(api, "pausing@realty.com.au")
    await api.stack.env.sleep(timedelta(hours=1))
    assert len(api.stack.inbox.to("pausing@realty.com.au")) == 1
    base = f"/api/crm/deals/{deal['id']}"

    r = await api.http.post(f"{base}/pause/", json={"reason": "on holiday"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paused"
    await api.stack.env.sleep(10 * DAY)
    assert len(api.stack.inbox.to("pausing@realty.com.au")) == 1
    assert api.deal(deal["id"]).status == "paused"

    r = await api.http.patch(f"{base}/", json={"status": "active"})  # = POST .../resume/
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    await api.stack.env.sleep(timedelta(hours=1))
    assert len(api.stack.inbox.to("pausing@realty.com.au")) == 2
    sent = await api.http.post(f"{base}/send-now/")
    assert sent.status_code == 200, sent.text
    assert sent.json()["sent"] is True
    assert sent.json()["workflow_id"] == deal["workflow_id"]
    assert len(api.stack.inbox.to("pausing@realty.com.au")) == 3  # sent before the answer


async def test_preview_renders_the_next_email_without_sending(api: Api) -> None:
    """Preview needs no workflow: this deal has none, so nothing else can send meanwhile."""
    async with client_for(api_app(api.stack, temporal=False)) as offline:
        contact_id = api.contact("preview@realty.com.au", brand="desifirms", name="Priya Sharma")
        deal = (
            await offline.post(
                "/api/crm/deals/",
                json={
                    "contact_id": contact_id,
                    "pipeline_id": api.pipeline_id("desifirms", "real_estate"),
                },
            )
        ).json()
        logs, decisions = _count(api.stack, EmailLog), _count(api.stack, AIDecisionLog)
        r = await offline.get(f"/api/crm/deals/{deal['id']}/preview/")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stage_name"] == "Invited"
    assert body["template_key"] == "desifirms/real_estate/invited"
    assert body["variant"] in ("A", "B")
    assert body["subject"]
    assert "<html" in body["html"].lower()
    assert "Priya" in body["text"]
    assert "/api/crm/unsubscribe/preview" in body["html"]
    assert "/track/" not in body["html"]  # no pixel, no rewritten links
    assert (_count(api.stack, EmailLog), _count(api.stack, AIDecisionLog)) == (logs, decisions)
    assert sent_logs(api.stack.engine, deal["id"]) == []
    assert api.stack.inbox.messages == []


async def test_drafts_render_next_emails_for_review(api: Api) -> None:
    async with client_for(api_app(api.stack, temporal=False)) as offline:
        pipeline_id = api.pipeline_id("desifirms", "real_estate")
        ids = []
        for i in range(2):
            contact_id = api.contact(f"draft{i}@realty.com.au", brand="desifirms")
            r = await offline.post(
                "/api/crm/deals/", json={"contact_id": contact_id, "pipeline_id": pipeline_id}
            )
            ids.append(r.json()["id"])
        r = await offline.post("/api/crm/deals/drafts/", json={"deal_ids": [*ids, 424242]})
        assert r.status_code == 201, r.text
        body = r.json()
        again = (await offline.post("/api/crm/deals/drafts/", json={"deal_ids": ids})).json()
    assert sorted(c["deal_id"] for c in body["created"]) == sorted(ids)
    assert body["skipped"] == [
        {"deal_id": 424242, "reason": "not_found", "message": "Deal 424242 does not exist"}
    ]
    assert {s["reason"] for s in again["skipped"]} == {"draft_exists"}
    with Session(api.stack.engine) as s:
        drafts = s.exec(select(EmailDraft).order_by(EmailDraft.id)).all()  # type: ignore[arg-type]
    assert [d.deal_id for d in drafts] == ids
    assert all(d.status == DraftStatus.draft and d.body and d.subject for d in drafts)
    assert drafts[0].recipients == ["draft0@realty.com.au"]
    assert api.stack.inbox.messages == []
