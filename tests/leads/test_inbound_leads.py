"""`POST /api/crm/leads/inbound`: chatbot leads and inquiries become a contact and a warm deal
(issue 11, item 8): it starts at the stage a person owns, gets no cold email, and the AI's
draft answer to what the lead asked waits for a person; what a client sees, what the contact
receives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from models import (
    Contact,
    Deal,
    DraftKind,
    EmailDraft,
    Suppression,
    SuppressionReason,
    session_scope,
)
from tests.api.helpers import assert_error, fields_of
from tests.api_workflows.conftest import Api

URL = "/api/crm/leads/inbound"


def _lead(**fields: Any) -> dict[str, Any]:
    return {"brand": "codeteki", "kind": "inquiry", **fields}


def _deals(api: Api) -> list[Deal]:
    with Session(api.stack.engine) as s:
        return list(s.exec(select(Deal).order_by(col(Deal.id))).all())


def _contact(api: Api, contact_id: int) -> Contact:
    with Session(api.stack.engine) as s:
        contact = s.get(Contact, contact_id)
        assert contact is not None
        return contact


def _reply_drafts(api: Api, deal_id: int) -> list[EmailDraft]:
    with Session(api.stack.engine) as s:
        return list(
            s.exec(
                select(EmailDraft).where(
                    EmailDraft.deal_id == deal_id, EmailDraft.kind == DraftKind.reply
                )
            ).all()
        )


async def test_inquiry_gets_a_warm_deal_and_a_drafted_answer_not_cold_outreach(api: Api) -> None:
    api.stack.open_window("codeteki")
    r = await api.http.post(
        URL,
        json=_lead(
            email="Owner@Chai-Corner.com.au",
            name="Anita Rao",
            message="Can you build us an online ordering site?",
            source="codeteki.au contact form",
        ),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    deal = body["deal"]
    assert body["contact"]["created"] is True
    assert body["contact"]["email"] == "owner@chai-corner.com.au"
    assert (deal["created"], deal["pipeline_slug"], deal["stage"]) == (True, "sales", "Responded")
    assert deal["workflow_id"] == f"deal-{deal['id']}"
    assert body["suppressed"] is False
    contact = _contact(api, body["contact"]["id"])
    assert contact.source == "codeteki.au contact form"
    assert "online ordering" in contact.notes

    await api.stack.env.sleep(timedelta(days=12))  # a cold intro and follow-ups would be out
    assert api.stack.inbox.to("owner@chai-corner.com.au") == []
    (draft,) = _reply_drafts(api, deal["id"])  # the AI's answer, waiting for a person
    assert (draft.status, draft.recipients) == ("pending_review", ["owner@chai-corner.com.au"])
    assert draft.body
    state = (await api.http.get(f"/api/crm/deals/{deal['id']}/state/")).json()
    assert (state["stage"], state["status"], state["replies"]) == ("Responded", "active", 1)

    # The website posts the same inquiry again, with more (and different) details.
    again = await api.http.post(
        URL,
        json=_lead(email="owner@chai-corner.com.au", name="Someone Else", company="Chai Corner"),
    )
    assert again.status_code == 200, again.text
    second = again.json()
    assert (second["deal"]["id"], second["deal"]["created"]) == (deal["id"], False)
    assert second["deal"]["workflow_id"] == deal["workflow_id"]
    assert second["deal"]["stage"] == "Responded"
    assert second["contact"] == {**body["contact"], "created": False, "filled": ["company"]}
    contact = _contact(api, body["contact"]["id"])
    assert (contact.name, contact.company) == ("Anita Rao", "Chai Corner")
    assert len(_deals(api)) == 1
    await api.stack.env.sleep(timedelta(hours=1))
    assert api.stack.inbox.to("owner@chai-corner.com.au") == []
    assert len(_reply_drafts(api, deal["id"])) == 1  # no new message: no second draft


async def test_chatbot_lead_is_a_contact_and_deal_and_never_overwrites_the_operator(
    api: Api,
) -> None:
    lead = {
        "brand": "desifirms",
        "kind": "chatbot",
        "email": "visitor@example.com",
        "name": "Ravi",
        "message": "Do you list Sydney restaurants?",
        "pipeline": "real_estate",
    }
    r = await api.http.post(URL, json=lead)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["kind"], body["contact"]["created"]) == ("chatbot", True)
    assert (body["deal"]["pipeline_slug"], body["deal"]["stage"]) == ("real_estate", "Responded")
    contact = _contact(api, body["contact"]["id"])
    assert (contact.source, contact.contact_type, contact.name) == ("chatbot", "lead", "Ravi")
    assert contact.brand_id == api.stack.brand("desifirms").id

    with session_scope(api.stack.engine) as s:  # an operator corrects the name
        row = s.get(Contact, body["contact"]["id"])
        assert row is not None
        row.name = "Ravi Kumar"
        s.add(row)
    again = await api.http.post(
        URL, json={**lead, "name": "R", "phone": "+61 400 000 000", "message": "Hello again"}
    )
    assert again.status_code == 200, again.text
    assert again.json()["contact"]["filled"] == ["phone", "notes"]
    contact = _contact(api, body["contact"]["id"])
    assert (contact.name, contact.phone) == ("Ravi Kumar", "+61 400 000 000")
    assert "Sydney restaurants" in contact.notes
    assert "Hello again" in contact.notes
    # A redelivery of the same webhook changes nothing.
    same = await api.http.post(URL, json={**lead, "message": "Hello again"})
    assert (same.status_code, same.json()["contact"]["filled"]) == (200, [])
    assert len(_deals(api)) == 1
    await api.stack.env.sleep(timedelta(hours=1))
    assert api.stack.inbox.to("visitor@example.com") == []  # no cold invitation
    # Without a sales pipeline (Desi Firms has none) a chat names one, or stays a contact.
    bare = await api.http.post(URL, json={**lead, "email": "other@example.com", "pipeline": None})
    assert (bare.status_code, bare.json()["deal"]) == (201, None)


async def test_suppressed_inquiry_keeps_the_contact_but_gets_no_deal(api: Api) -> None:
    with session_scope(api.stack.engine) as s:
        s.add(
            Suppression(
                brand_id=api.stack.brand("codeteki").id or 0,
                email="gone@example.com",
                reason=SuppressionReason.unsubscribed,
            )
        )
    r = await api.http.post(URL, json=_lead(email="gone@example.com", name="Gone"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["deal"], body["suppressed"], body["suppression_reason"]) == (
        None,
        True,
        "unsubscribed",
    )
    assert "suppressed" in body["summary"]
    assert _deals(api) == []
    # The suppression is Codeteki's: the same address may still enquire with Desi Firms.
    api.stack.open_window("desifirms")
    other = await api.http.post(
        URL, json=_lead(brand="desifirms", email="gone@example.com", pipeline="events")
    )
    assert other.status_code == 201, other.text
    assert other.json()["deal"]["pipeline_slug"] == "events"
    # (Idle before the test ends: an activity in flight at teardown would keep the shared
    # time-skipping server from skipping time in the next test.)
    await api.stack.env.sleep(timedelta(hours=1))
    assert api.stack.inbox.to("gone@example.com") == []  # a warm lead: no cold email


async def test_errors_are_clear_and_write_nothing(api: Api) -> None:
    brand_id = api.stack.brand("codeteki").id
    cases = [
        (_lead(brand="nope", email="a@example.com"), "unknown_brand", "brand"),
        (_lead(brand=99999, email="a@example.com"), "unknown_brand", "brand"),
        (_lead(email="a@example.com", pipeline="nope"), "unknown_pipeline", "pipeline"),
        # Desi Firms has no sales pipeline: an inquiry must say which pipeline.
        (_lead(brand="desifirms", email="a@example.com"), "no_sales_pipeline", "pipeline"),
        (_lead(email="not-an-email"), "validation_error", "email"),
        (_lead(email="a@example.com", kind="newsletter"), "validation_error", "kind"),
        ({"kind": "chatbot", "email": "a@example.com"}, "validation_error", "brand"),
    ]
    for body, code, field in cases:
        error = assert_error(await api.http.post(URL, json=body), 422, code)
        assert field in fields_of(error), (body, error)
    ok = await api.http.post(URL, json=_lead(brand=str(brand_id), kind="chatbot", email="b@x.io"))
    assert ok.status_code == 201, ok.text
    assert ok.json()["deal"]["stage"] == "Responded"  # a chatbot lead gets a deal too
    with Session(api.stack.engine) as s:
        assert s.exec(select(func.count()).select_from(Contact)).one() == 1
    # Idle before the end: its workflow's first activities must not be in flight at teardown.
    await api.stack.env.sleep(timedelta(hours=1))
    assert_error(
        await api.http.post(URL, json=_lead(email="a@example.com"), headers={"Authorization": ""}),
        401,
    )
