"""The review queue through the REST API, with the deals' workflows running: what a reviewer
sees, what the contact receives after each decision, and the daily summary's reminder."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session, select

from models import DraftStatus, EmailDraft
from tests.api.helpers import assert_error
from tests.api_workflows.conftest import Api, api_app, client_for
from tests.workflows.helpers import sent_logs
from workflows.jobs import DailyReviewInput, DailyReviewResult, DailyReviewWorkflow

HOUR = timedelta(hours=1)


async def _deal(api: Api, email: str, *, name: str = "", pipeline: str = "real_estate") -> int:
    contact_id = api.contact(email, brand="desifirms", name=name)
    r = await api.http.post(
        "/api/crm/deals/",
        json={"contact_id": contact_id, "pipeline_id": api.pipeline_id("desifirms", pipeline)},
    )
    assert r.status_code == 201, r.text
    deal_id: int = r.json()["id"]
    return deal_id


async def _queue(api: Api, **params: object) -> dict:
    r = await api.http.get("/api/crm/review/", params=params)
    assert r.status_code == 200, r.text
    body: dict = r.json()
    return body


async def test_queue_lists_waiting_drafts_and_approve_sends_once(api: Api) -> None:
    api.stack.open_window("desifirms", human_review=True)
    priya = await _deal(api, "priya@sharma-realty.com.au", name="Priya Sharma")
    raj = await _deal(api, "raj@kumar-events.com.au", name="Raj Kumar", pipeline="events")
    await api.stack.env.sleep(HOUR)
    assert api.stack.inbox.messages == []

    queue = await _queue(api, brand="desifirms")
    assert queue["total"] == 2
    assert {i["deal_id"] for i in queue["items"]} == {priya, raj}
    item = next(i for i in queue["items"] if i["deal_id"] == priya)
    assert item["contact_email"] == "priya@sharma-realty.com.au"
    assert item["contact_name"] == "Priya Sharma"
    assert item["stage_name"] == "Invited"
    assert item["status"] == "pending_review"
    assert item["subject"]
    assert "Priya" in item["body"]
    assert item["age_seconds"] >= 0
    pipeline_id = api.pipeline_id("desifirms", "events")
    assert [i["deal_id"] for i in (await _queue(api, pipeline=pipeline_id))["items"]] == [raj]
    assert [i["deal_id"] for i in (await _queue(api, deal=priya))["items"]] == [priya]
    assert (await _queue(api, brand="codeteki"))["total"] == 0
    assert (await _queue(api, limit=1))["items"][0]["id"] == queue["items"][0]["id"]
    assert_error(await api.http.get("/api/crm/review/", params={"brand": "nope"}), 422)
    one = await api.http.get(f"/api/crm/review/{item['id']}/")
    assert one.json() == {**item, "age_seconds": one.json()["age_seconds"]}

    r = await api.http.post(f"/api/crm/review/{item['id']}/approve/", json={"reviewer": "ana"})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["draft"]["status"] == "sent"
    assert result["draft"]["sent_at"] is not None
    assert (result["deal"]["stage"], result["deal"]["emails_sent"]) == ("Invited", 1)
    (message,) = api.stack.inbox.to("priya@sharma-realty.com.au")
    assert message["Subject"] == item["subject"]
    assert api.stack.inbox.to("raj@kumar-events.com.au") == []
    assert [i["deal_id"] for i in (await _queue(api))["items"]] == [raj]

    again = await api.http.post(f"/api/crm/review/{item['id']}/approve/")
    assert_error(again, 409, "draft_not_pending")
    assert len(api.stack.inbox.to("priya@sharma-realty.com.au")) == 1
    assert len(sent_logs(api.stack.engine, priya)) == 1
    deal = (await api.http.get(f"/api/crm/deals/{priya}/")).json()
    assert deal["stage_id"] == item["stage_id"]


async def test_edit_is_checked_in_the_sandbox_then_sent(api: Api) -> None:
    api.stack.open_window("desifirms", human_review=True)
    deal_id = await _deal(api, "priya@sharma-realty.com.au", name="Priya Sharma")
    await api.stack.env.sleep(HOUR)
    (item,) = (await _queue(api))["items"]
    url = f"/api/crm/review/{item['id']}/edit/"

    broken = await api.http.post(url, json={"subject": "Hi", "body": "{{ contact.nope }}"})
    assert_error(broken, 422, "template_error")
    unsafe = await api.http.post(
        url, json={"subject": "Hi", "body": "{{ contact.__class__.__mro__ }}"}
    )
    assert_error(unsafe, 422, "template_error")
    bad_subject = await api.http.post(url, json={"subject": "{% if %}", "body": "Fine."})
    assert assert_error(bad_subject, 422, "template_error")["details"][0]["field"] == "subject"
    assert_error(await api.http.post(url, json={"subject": "", "body": "x"}), 422)
    assert api.stack.inbox.messages == []

    r = await api.http.post(
        url,
        json={
            "subject": "For {{ contact.first_name }}",
            "body": "A shorter note, {{ contact.first_name }}.",
            "note": "shorter",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["draft"]["subject"] == "For {{ contact.first_name }}"
    assert r.json()["draft"]["review_note"] == "shorter"
    (message,) = api.stack.inbox.to("priya@sharma-realty.com.au")
    assert message["Subject"] == "For Priya"
    assert "A shorter note, Priya." in message.get_body(("plain",)).get_content()
    (log,) = sent_logs(api.stack.engine, deal_id)
    assert log.subject == "For Priya"


async def test_reject_sends_nothing_and_pauses_the_deal(api: Api) -> None:
    api.stack.open_window("desifirms", human_review=True)
    deal_id = await _deal(api, "priya@sharma-realty.com.au")
    await api.stack.env.sleep(HOUR)
    (item,) = (await _queue(api))["items"]

    r = await api.http.post(f"/api/crm/review/{item['id']}/reject/", json={"note": "off-brand"})
    assert r.status_code == 200, r.text
    assert r.json()["deal"]["status"] == "paused"
    assert r.json()["draft"]["status"] == "rejected"
    assert r.json()["draft"]["review_note"] == "off-brand"
    assert api.deal(deal_id).status == "paused"
    await api.stack.env.sleep(timedelta(days=4))
    assert api.stack.inbox.messages == []
    assert (await _queue(api))["total"] == 0
    timeline = (await api.http.get(f"/api/crm/deals/{deal_id}/timeline/")).json()
    assert "rejected by api: off-brand" in timeline[-1]["text"]
    assert_error(await api.http.post(f"/api/crm/review/{item['id']}/approve/"), 409)


async def test_unknown_draft_and_no_temporal(api: Api) -> None:
    assert_error(await api.http.get("/api/crm/review/999/"), 404, "not_found")
    api.stack.open_window("desifirms", human_review=True)
    await _deal(api, "priya@sharma-realty.com.au")
    await api.stack.env.sleep(HOUR)
    (item,) = (await _queue(api))["items"]
    async with client_for(api_app(api.stack, temporal=False)) as offline:
        r = await offline.post(f"/api/crm/review/{item['id']}/approve/")
        assert_error(r, 503, "temporal_unavailable")
        listed = await offline.get("/api/crm/review/")
        assert listed.json()["total"] == 1  # the queue itself needs only the database
    assert api.stack.inbox.messages == []


async def test_a_draft_waiting_too_long_is_in_the_daily_summary(api: Api) -> None:
    api.stack.open_window("desifirms", human_review=True)
    await _deal(api, "priya@sharma-realty.com.au")
    await api.stack.env.sleep(HOUR)
    (item,) = (await _queue(api))["items"]

    async def daily_review() -> list[dict]:
        await api.stack.client.execute_workflow(
            DailyReviewWorkflow.run,
            DailyReviewInput(brand="desifirms"),
            id=f"daily-review-desifirms-{uuid.uuid4().hex[:6]}",
            task_queue=api.stack.task_queue,
            result_type=DailyReviewResult,
        )
        r = await api.http.get("/api/crm/stats/daily/", params={"brand": "desifirms"})
        assert r.status_code == 200, r.text
        (summary,) = [s for s in r.json() if s["brand_slug"] == "desifirms"]
        waiting: list[dict] = summary["data"]["drafts_waiting_review"]
        return waiting

    assert await daily_review() == []  # an hour is not too long
    await api.stack.env.sleep(api.stack.settings.draft_review_remind_after + HOUR)
    waiting = await daily_review()
    assert [(d["draft_id"], d["subject"]) for d in waiting] == [(item["id"], item["subject"])]
    assert waiting[0]["waiting_hours"] >= 24
    with Session(api.stack.engine) as s:
        draft = s.exec(select(EmailDraft).where(EmailDraft.id == item["id"])).one()
        assert draft.status == DraftStatus.pending_review
