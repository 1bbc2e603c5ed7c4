"""Every draft waiting for a person is in the review queue with its kind, and approving sends
it: a suggested reply as an answer in the contact's thread (seen on the SMTP wire), a stored
next-email draft with the real unsubscribe link, never the preview's."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlmodel import col, select

from dealpilot.intake.signatures import sign_dealpilot
from models import Brand, Contact, Pipeline, PipelineStage, session_scope
from tests.api.helpers import assert_error
from tests.intake.conftest import SECRETS, Intake, intake  # noqa: F401 (fixture)
from tests.workflows.helpers import sent_logs

AUTH = {"Authorization": "Bearer k"}
PREVIEW = "/api/crm/unsubscribe/preview"


async def _deal(intake: Intake, email: str) -> int:  # noqa: F811
    """A deal made as an integrator makes one (its workflow id recorded on the row)."""
    with session_scope(intake.stack.engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        pipeline = s.exec(
            select(Pipeline).where(Pipeline.brand_id == brand.id, Pipeline.slug == "sales")
        ).one()
        contact = Contact(brand_id=brand.id or 0, email=email, name="Sam")
        s.add(contact)
        s.flush()
        data = {"contact_id": contact.id, "pipeline_id": pipeline.id}
    r = await intake.http.post("/api/crm/deals/", json=data, headers=AUTH)
    assert r.status_code == 201, r.text
    deal_id: int = r.json()["id"]
    return deal_id


async def _reply(intake: Intake, to_email: str, in_reply_to: str, message_id: str) -> None:  # noqa: F811
    body = json.dumps(
        {
            "from": f"Sam <{to_email}>",
            "to": "hello@codeteki.au",
            "subject": "Re: quick question",
            "text": "Yes, I'm interested. Can you send me your pricing?",
            "message_id": message_id,
            "in_reply_to": in_reply_to,
        }
    ).encode()
    stamp = str(int(time.time()))
    signature = sign_dealpilot(body, stamp, SECRETS["dealpilot_webhook_secret"])
    headers = {
        "Content-Type": "application/json",
        "X-Dealpilot-Timestamp": stamp,
        "X-Dealpilot-Signature": "sha256=" + signature,
    }
    r = await intake.http.post("/api/crm/webhooks/reply", content=body, headers=headers)
    assert r.status_code == 200, r.text
    await intake.delivered()


async def test_an_approved_suggested_reply_goes_out_in_the_contacts_thread(
    intake: Intake,  # noqa: F811
) -> None:
    email = "sam@leeplumbing.com.au"
    intake.stack.open_window("codeteki")
    deal_id = await _deal(intake, email)
    await intake.stack.env.sleep(timedelta(hours=1))
    (log,) = sent_logs(intake.stack.engine, deal_id)
    assert log.message_id
    await _reply(intake, email, log.message_id, "<answer-1@leeplumbing.com.au>")
    await intake.stack.env.sleep(timedelta(minutes=5))

    r = await intake.http.get("/api/crm/review/", params={"deal": deal_id}, headers=AUTH)
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert (item["kind"], item["kind_label"]) == ("reply", "suggested reply")
    assert item["contact_email"] == email

    r = await intake.http.post(f"/api/crm/review/{item['id']}/approve/", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["sent"] is True
    assert r.json()["draft"]["status"] == "sent"
    sent = intake.stack.inbox.to(email)
    assert len(sent) == 2
    answer = sent[-1]
    assert answer["In-Reply-To"] == "<answer-1@leeplumbing.com.au>"
    assert log.message_id in answer["References"]
    assert str(answer["Subject"]).startswith("Re: ")
    assert r.json()["deal"]["stage"] == "Responded"  # the answer moves no stage

    again = await intake.http.post(f"/api/crm/review/{item['id']}/approve/", headers=AUTH)
    assert_error(again, 409, "draft_not_pending")
    assert len(intake.stack.inbox.to(email)) == 2


async def test_a_stored_draft_is_sent_with_the_real_unsubscribe_link_or_discarded(
    intake: Intake,  # noqa: F811
) -> None:
    stack = intake.stack
    stack.open_window("codeteki")
    with session_scope(stack.engine) as s:  # the deals' first email waits three days
        brand = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        pipeline = s.exec(
            select(Pipeline).where(Pipeline.brand_id == brand.id, Pipeline.slug == "sales")
        ).one()
        first = s.exec(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == pipeline.id)
            .order_by(col(PipelineStage.order))
        ).first()
        assert first is not None
        first.days_until_followup = 3
        s.add(first)
    kept = await _deal(intake, "mia@coastal-dental.com.au")
    dropped = await _deal(intake, "tom@ridgeway-builds.com.au")
    await stack.env.sleep(timedelta(minutes=1))
    r = await intake.http.post(
        "/api/crm/deals/drafts/", json={"deal_ids": [kept, dropped]}, headers=AUTH
    )
    assert r.status_code == 201, r.text
    r = await intake.http.get("/api/crm/review/", params={"kind": "next_email"}, headers=AUTH)
    items = {i["deal_id"]: i for i in r.json()["items"]}
    assert {i["kind_label"] for i in items.values()} == {"stored draft"}
    assert PREVIEW not in items[kept]["body"]  # stored without the preview's placeholder

    r = await intake.http.post(f"/api/crm/review/{items[dropped]['id']}/reject/", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["draft"]["status"] == "rejected"
    r = await intake.http.post(f"/api/crm/review/{items[kept]['id']}/approve/", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["sent"] is True
    (mail,) = stack.inbox.messages  # the rejected draft sent nothing
    assert "mia@coastal-dental.com.au" in str(mail["To"])
    assert str(mail["Subject"]) == items[kept]["subject"]
    html = mail.get_body(("html",))
    assert html is not None
    content = html.get_content()
    assert PREVIEW not in content
    assert "/api/crm/unsubscribe/" in content
    assert "/api/crm/unsubscribe/" in str(mail["List-Unsubscribe"])

    # A stored draft whose deal has moved on since is refused, not sent as a later email.
    r = await intake.http.post("/api/crm/deals/drafts/", json={"deal_ids": [dropped]}, headers=AUTH)
    (stale,) = r.json()["created"]
    r = await intake.http.post(f"/api/crm/deals/{dropped}/send-now/", headers=AUTH)
    assert r.json()["sent"] is True, r.text
    r = await intake.http.post(f"/api/crm/review/{stale['draft_id']}/approve/", headers=AUTH)
    assert_error(r, 409, "draft_stale")
    assert len(stack.inbox.messages) == 2
