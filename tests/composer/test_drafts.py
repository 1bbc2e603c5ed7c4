"""Composer drafts through the API on PostgreSQL: AI drafting (logged), a person's edits,
template checks, preview, delete. No Temporal here (see test_flow.py for sending)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import AIDecisionLog, DraftKind, DraftStatus, EmailDraft
from tests.composer.conftest import Setup
from tests.factories import make_contact, make_deal

DRAFTS = "/api/crm/composer/drafts/"


def test_the_ai_drafts_with_brand_context_and_the_decision_is_logged(
    client: TestClient, setup: Setup, session: Session
) -> None:
    r = client.post(
        DRAFTS,
        json={
            "brand": "acme",
            "pipeline": "sales",
            "email_type": "intro",
            "tone": "professional",
            "addresses": "Priya Sharma <priya@sharma.com.au>\nraj@kumar.com.au",
            "instructions": "Mention our free website audit.",
        },
    )
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["status"] == "draft"
    assert draft["ai_generated"] is True
    assert draft["pipeline_id"] == setup.pipeline.id
    assert draft["recipients"] == ["Priya Sharma <priya@sharma.com.au>", "raj@kumar.com.au"]
    assert "Acme Web" in draft["subject"]  # the heuristic engine writes with the brand's name
    # The operator's instructions brief the writer; the offline writer never pastes them.
    assert "Mention our free website audit" not in draft["body"]
    assert "Acme Web" in draft["body"]
    assert draft["timezone"] == "Australia/Sydney"
    log = session.exec(
        select(AIDecisionLog).where(AIDecisionLog.decision_type == "compose_email")
    ).one()
    assert log.brand_id == setup.brand.id
    assert log.meta["draft_id"] == draft["id"]
    assert log.meta["subject"] == draft["subject"]
    assert log.meta["tone"] == "professional"
    assert log.model == "heuristic-v1"


def test_a_person_writes_from_scratch_edits_and_previews(
    client: TestClient, setup: Setup, session: Session
) -> None:
    contact = make_contact(
        session, brand=setup.brand, email="mai@pho.example.com", name="Mai Nguyen", company="Pho Co"
    )
    r = client.post(
        DRAFTS,
        json={
            "brand": setup.brand.id,
            "pipeline": setup.pipeline.id,
            "email_type": "announcement",
            "ai": False,
            "contact_ids": [contact.id],
            "subject": "News for {{ contact.company or 'you' }}",
            "body": "We just launched, {{ contact.first_name or 'friend' }}.",
        },
    )
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["ai_generated"] is False
    assert draft["recipients"] == ["Mai Nguyen <mai@pho.example.com>"]
    assert session.exec(select(AIDecisionLog)).all() == []  # nobody asked the AI

    r = client.patch(
        f"{DRAFTS}{draft['id']}",
        json={"body": "Big news, {{ contact.first_name }}: we launched.", "tone": "direct"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["tone"] == "direct"

    preview = client.post(f"{DRAFTS}{draft['id']}/preview").json()
    assert preview["to_email"] == "mai@pho.example.com"
    assert preview["subject"] == "News for Pho Co"
    assert "Big news, Mai: we launched." in preview["text"]
    assert "Hi Mai," in preview["text"]  # the brand layout's greeting
    # Any address, known or not, and a sample contact when none is given.
    other = client.post(f"{DRAFTS}{draft['id']}/preview", json={"email": "Bo <bo@x.org>"})
    assert "Big news, Bo: we launched." in other.json()["text"]


def test_template_mistakes_are_422_and_nothing_changes(
    client: TestClient, setup: Setup, session: Session
) -> None:
    body = {"brand": "acme", "pipeline": "sales", "email_type": "intro", "ai": False}
    r = client.post(DRAFTS, json={**body, "subject": "Hi", "body": "Hello {{ contact.nope }}"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "template_error"
    assert r.json()["error"]["details"][0]["field"] == "body"

    draft_id = client.post(DRAFTS, json={**body, "subject": "Hi", "body": "Fine"}).json()["id"]
    for change, field in [
        ({"body": "{% if %}"}, "body"),
        ({"subject": "{{ ''.__class__.__mro__ }}"}, "subject"),  # the sandbox says no
        ({"body": "{{ brand.name.__class__ }}"}, "body"),
    ]:
        r = client.patch(f"{DRAFTS}{draft_id}", json=change)
        assert r.status_code == 422, change
        assert r.json()["error"]["code"] == "template_error"
        assert r.json()["error"]["details"][0]["field"] == field
    session.expire_all()
    stored = session.get(EmailDraft, draft_id)
    assert stored is not None
    assert (stored.subject, stored.body) == ("Hi", "Fine")


def test_bad_requests_are_clear_4xx(client: TestClient, setup: Setup, session: Session) -> None:
    base = {"brand": "acme", "pipeline": "sales", "email_type": "intro"}
    cases = [
        ({**base, "email_type": "blast"}, 422, "validation_error"),
        ({**base, "tone": "angry"}, 422, "validation_error"),
        ({**base, "brand": "nope"}, 422, "unknown_brand"),
        ({**base, "pipeline": str(setup.other_pipeline.id)}, 422, "brand_mismatch"),
        ({**base, "addresses": "ok@x.com, not-an-address"}, 422, "invalid_recipients"),
        ({**base, "filter": {}}, 422, "validation_error"),
    ]
    foreign = make_contact(session, brand=setup.other_brand, email="them@other.org")
    cases.append(({**base, "contact_ids": [foreign.id, 999999]}, 422, "invalid_recipients"))
    for body, status, code in cases:
        r = client.post(DRAFTS, json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), body
    r = client.post(DRAFTS, json={**base, "contact_ids": [foreign.id, 999999]})
    problems = [d["problem"] for d in r.json()["error"]["details"]]
    assert problems == [
        f"{foreign.id}: no such contact in this brand",
        "999999: no such contact in this brand",
    ]
    assert session.exec(select(EmailDraft)).all() == []
    assert client.get(f"{DRAFTS}424242").status_code == 404


def test_list_filters_and_delete_only_unsent(
    client: TestClient, setup: Setup, session: Session
) -> None:
    base = {"brand": "acme", "pipeline": "sales", "ai": False, "subject": "S", "body": "B"}
    intro = client.post(DRAFTS, json={**base, "email_type": "intro"}).json()
    pitch = client.post(DRAFTS, json={**base, "email_type": "backlink_pitch"}).json()
    # A review-queue draft (one deal's email) is not the composer's.
    deal = make_deal(
        session, contact=make_contact(session, brand=setup.brand), pipeline=setup.pipeline
    )
    review = EmailDraft(
        kind=DraftKind.review,
        brand_id=setup.brand.id or 0,
        deal_id=deal.id,
        status=DraftStatus.pending_review,
    )
    session.add(review)
    session.commit()
    assert client.get(DRAFTS, params={"brand": "acme"}).json()["total"] == 2
    assert client.get(f"{DRAFTS}{review.id}").status_code == 404
    assert client.delete(f"{DRAFTS}{review.id}").status_code == 404
    listed = client.get(DRAFTS, params={"brand": "acme", "email_type": "backlink_pitch"}).json()
    assert [d["id"] for d in listed["items"]] == [pitch["id"]]
    assert client.get(DRAFTS, params={"brand": "other"}).json()["total"] == 0

    sent = session.get(EmailDraft, intro["id"])
    assert sent is not None
    sent.status = DraftStatus.sent
    session.add(sent)
    session.commit()
    r = client.delete(f"{DRAFTS}{intro['id']}")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "draft_sent")
    r = client.patch(f"{DRAFTS}{intro['id']}", json={"subject": "changed"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "draft_not_editable")
    assert client.delete(f"{DRAFTS}{pitch['id']}").status_code == 204
    assert client.get(f"{DRAFTS}{pitch['id']}").status_code == 404
