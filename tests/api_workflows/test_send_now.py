""" "Send follow-up now" sends the next email the preview shows, now, or says why it cannot
(issue 11, item 7). Before, it only nudged the autopilot: outside the send window or when the
AI chose to wait it sent nothing, and in a stage a person owns nothing at all, silently."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models import Brand, EmailLog, Suppression, SuppressionReason, session_scope
from tests.api.helpers import assert_error
from tests.api_workflows.conftest import Api
from tests.workflows.helpers import sent_logs


async def _deal_with_first_email(api: Api, email: str) -> dict[str, object]:
    api.stack.open_window("desifirms")
    contact_id = api.contact(email, brand="desifirms", name="Priya Sharma")
    r = await api.http.post(
        "/api/crm/deals/",
        json={"contact_id": contact_id, "pipeline_id": api.pipeline_id("desifirms", "real_estate")},
    )
    assert r.status_code == 201, r.text
    await api.stack.env.sleep(timedelta(hours=1))
    assert len(api.stack.inbox.to(email)) == 1
    return dict(r.json())


async def _close_window(api: Api) -> None:
    """A one-hour window half a day away from the (time-skipping) clock's now."""
    now = await api.stack.env.get_current_time()
    hour = min((now.astimezone(ZoneInfo("Australia/Sydney")).hour + 12) % 24, 22)
    api.stack.open_window(
        "desifirms",
        timezone="Australia/Sydney",
        send_window_start=time(hour),
        send_window_end=time(hour + 1),
    )


async def test_send_now_sends_the_previewed_email_even_outside_the_window(api: Api) -> None:
    email = "now@realty.com.au"
    deal = await _deal_with_first_email(api, email)
    base = f"/api/crm/deals/{deal['id']}"
    await _close_window(api)
    preview = await api.http.get(f"{base}/preview/")
    assert preview.status_code == 200, preview.text

    r = await api.http.post(f"{base}/send-now/")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["sent"], body["outcome"], body["stage_name"]) == (True, "sent", "Follow-up 1")
    assert body["subject"] == preview.json()["subject"]
    messages = api.stack.inbox.to(email)
    assert len(messages) == 2  # in the inbox before the answer came back
    assert messages[-1]["Subject"] == preview.json()["subject"]
    [_first, log] = sent_logs(api.stack.engine, int(str(deal["id"])))
    assert log.id == body["email_log_id"]
    state = (await api.http.get(f"{base}/state/")).json()
    assert (state["stage"], state["emails_sent"]) == ("Follow-up 1", 2)


async def test_send_now_says_why_it_cannot(api: Api) -> None:
    email = "cannot@realty.com.au"
    deal = await _deal_with_first_email(api, email)
    base = f"/api/crm/deals/{deal['id']}"

    # Paused: nothing goes until a person resumes the deal.
    assert (await api.http.post(f"{base}/pause/")).status_code == 200
    error = assert_error(await api.http.post(f"{base}/send-now/"), 409, "deal_paused")
    assert "resume" in error["message"]
    assert (await api.http.post(f"{base}/resume/")).status_code == 200

    # The address was suppressed meanwhile: the guard holds, the answer says so.
    with session_scope(api.stack.engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == "desifirms")).one()
        s.add(
            Suppression(brand_id=brand.id or 0, email=email, reason=SuppressionReason.hard_bounce)
        )
    r = await api.http.post(f"{base}/send-now/")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["sent"], body["outcome"], body["status"]) == (False, "suppressed", "lost")
    assert "suppressed" in body["detail"]
    assert len(api.stack.inbox.to(email)) == 1
    assert_error(await api.http.post(f"{base}/send-now/"), 409, "deal_closed")


async def test_send_now_in_a_stage_a_person_owns_is_refused_with_the_reason(api: Api) -> None:
    email = "manual@realty.com.au"
    deal = await _deal_with_first_email(api, email)
    base = f"/api/crm/deals/{deal['id']}"
    moved = await api.http.post(f"{base}/move-stage/", json={"stage": "responded"})
    assert moved.status_code == 200, moved.text
    error = assert_error(await api.http.post(f"{base}/send-now/"), 409, "no_next_email")
    assert "Responded" in error["message"]
    assert_error(await api.http.get(f"{base}/preview/"), 409, "no_next_email")  # the same answer
    with Session(api.stack.engine) as s:
        assert len(s.exec(select(EmailLog).where(EmailLog.to_email == email)).all()) == 1
