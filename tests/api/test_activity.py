"""Read-only views: email sequences, email logs, AI activity."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from models import EmailStatus, utcnow
from tests.api.helpers import assert_error
from tests.factories import (
    make_brand,
    make_contact,
    make_deal,
    make_decision,
    make_email_log,
    make_pipeline,
    make_sequence,
)


def test_email_sequences_with_ordered_steps(client: TestClient, session: Session) -> None:
    brand = make_brand(session)
    sales = make_pipeline(session, brand=brand)
    other = make_pipeline(session, brand=brand)
    intro = make_sequence(session, pipeline=sales, name="Intro", steps=3)
    make_sequence(session, pipeline=other, name="Other", steps=1)

    listed = client.get("/api/crm/email-sequences/").json()
    assert [s["name"] for s in listed] == ["Intro", "Other"]
    only = client.get(f"/api/crm/email-sequences/?pipeline={sales.id}").json()
    assert [s["id"] for s in only] == [intro.id]
    assert [step["order"] for step in only[0]["steps"]] == [0, 1, 2]
    detail = client.get(f"/api/crm/email-sequences/{intro.id}/").json()
    assert detail == only[0]
    assert detail["steps"][1]["delay_days"] == 3
    assert_error(client.get("/api/crm/email-sequences/999/"), 404, "not_found")
    assert_error(client.get("/api/crm/email-sequences/?pipeline=x"), 422)


def test_email_logs_filters_and_detail(client: TestClient, session: Session) -> None:
    ct, desi = make_brand(session, slug="codeteki"), make_brand(session, slug="desifirms")
    d1 = make_deal(
        session, contact=make_contact(session, brand=ct), pipeline=make_pipeline(session, brand=ct)
    )
    d2 = make_deal(
        session,
        contact=make_contact(session, brand=desi),
        pipeline=make_pipeline(session, brand=desi),
    )
    a = make_email_log(session, deal=d1, variant="A")
    b = make_email_log(session, deal=d1, variant="B", status=EmailStatus.failed)
    c = make_email_log(session, deal=d2, variant="B")

    def ids(query: str) -> set[int]:
        r = client.get(f"/api/crm/email-logs/?{query}")
        assert r.status_code == 200, r.text
        return {e["id"] for e in r.json()["items"]}

    assert ids("") == {a.id, b.id, c.id}
    assert ids(f"deal={d1.id}") == {a.id, b.id}
    assert ids("brand=desifirms") == {c.id}
    assert ids("status=failed") == {b.id}
    assert ids("variant=B") == {b.id, c.id}
    assert ids(f"deal={d1.id}&variant=B") == {b.id}
    page = client.get("/api/crm/email-logs/?limit=1").json()
    assert (page["total"], len(page["items"])) == (3, 1)

    detail = client.get(f"/api/crm/email-logs/{a.id}/").json()
    assert (detail["subject"], detail["status"], detail["variant"]) == ("Hello", "sent", "A")
    assert_error(client.get("/api/crm/email-logs/999/"), 404)
    assert_error(client.get("/api/crm/email-logs/?status=lost"), 422, "validation_error")
    assert_error(client.get("/api/crm/email-logs/?variant=C"), 422, "validation_error")
    assert_error(client.post("/api/crm/email-logs/", json={}), 405)  # read-only


def test_ai_activity_recent_first_with_filters(client: TestClient, session: Session) -> None:
    ct, desi = make_brand(session, slug="codeteki"), make_brand(session, slug="desifirms")
    deal = make_deal(
        session, contact=make_contact(session, brand=ct), pipeline=make_pipeline(session, brand=ct)
    )
    now = utcnow()
    old = make_decision(
        session, brand=ct, deal=deal, created_at=now - timedelta(hours=2), meta={"tier": "cold"}
    )
    new = make_decision(
        session,
        brand=ct,
        deal=deal,
        decision_type="classify_reply",
        created_at=now - timedelta(minutes=1),
    )
    other = make_decision(session, brand=desi, created_at=now - timedelta(hours=1))

    page = client.get("/api/crm/ai-activity/").json()
    assert [d["id"] for d in page["items"]] == [new.id, other.id, old.id]
    assert page["total"] == 3
    first = page["items"][2]
    assert first["metadata"] == {"tier": "cold"}
    assert "meta" not in first
    assert (first["model"], first["action_taken"]) == ("heuristic", "wait")

    def ids(query: str) -> list[int]:
        return [d["id"] for d in client.get(f"/api/crm/ai-activity/?{query}").json()["items"]]

    assert ids("brand=codeteki") == [new.id, old.id]
    assert ids("decision_type=classify_reply") == [new.id]
    assert ids(f"brand={desi.id}&decision_type=classify_reply") == []

    per_deal = client.get(f"/api/crm/ai-activity/{deal.id}/").json()
    assert [d["id"] for d in per_deal["items"]] == [new.id, old.id]
    assert_error(client.get("/api/crm/ai-activity/999/"), 404, "not_found")
    assert_error(client.get("/api/crm/ai-activity/?brand=ghost"), 422, "unknown_brand")


def test_ai_activity_for_deal_without_decisions_is_empty(
    client: TestClient, session: Session
) -> None:
    brand = make_brand(session)
    deal = make_deal(
        session,
        contact=make_contact(session, brand=brand),
        pipeline=make_pipeline(session, brand=brand),
    )
    page = client.get(f"/api/crm/ai-activity/{deal.id}").json()
    assert (page["items"], page["total"]) == ([], 0)
