from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.api.helpers import assert_error, fields_of
from tests.factories import (
    make_backlink,
    make_brand,
    make_contact,
    make_deal,
    make_pipeline,
    make_prompt,
    make_suppression,
)


def test_backlinks_create_list_patch(client: TestClient, session: Session) -> None:
    ct, desi = make_brand(session, slug="codeteki"), make_brand(session, slug="desifirms")
    contact = make_contact(session, brand=ct)
    foreign = make_contact(session, brand=desi)
    r = client.post(
        "/api/crm/backlinks/",
        json={
            "brand_id": ct.id,
            "target_url": "https://blog.example.org/ai-tools",
            "target_domain": "blog.example.org",
            "domain_authority": 45,
            "contact_id": contact.id,
        },
    )
    assert r.status_code == 201, r.text
    link = r.json()
    assert (link["status"], link["contact_id"]) == ("new", contact.id)
    make_backlink(session, brand=desi, status="placed")

    def domains(query: str) -> list[str]:
        r = client.get(f"/api/crm/backlinks/?{query}")
        assert r.status_code == 200, r.text
        return [b["target_domain"] for b in r.json()["items"]]

    assert len(domains("")) == 2
    assert domains("brand=codeteki") == ["blog.example.org"]
    assert domains("status=placed&brand=desifirms") == ["blog.example.org"]
    assert domains("status=rejected") == []
    assert_error(client.get("/api/crm/backlinks/?status=maybe"), 422, "validation_error")

    url = f"/api/crm/backlinks/{link['id']}/"
    r = client.patch(
        url,
        json={"status": "placed", "link_rel": "dofollow", "verified_at": "2025-01-02T03:04:05Z"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["link_rel"]) == ("placed", "dofollow")
    assert r.json()["verified_at"] == "2025-01-02T03:04:05Z"
    assert client.get(url).json() == r.json()
    # Naive timestamps are ambiguous: refused instead of guessed.
    assert fields_of(assert_error(client.patch(url, json={"verified_at": "2025-01-02T03:04"}), 422))
    # Brands are isolated.
    assert_error(client.patch(url, json={"contact_id": foreign.id}), 422, "brand_mismatch")
    r = client.post(
        "/api/crm/backlinks/",
        json={
            "brand_id": ct.id,
            "target_url": "https://x.org",
            "target_domain": "x.org",
            "contact_id": foreign.id,
        },
    )
    assert_error(r, 422, "brand_mismatch")
    assert_error(client.patch(url, json={"domain_authority": 101}), 422)
    assert_error(client.patch("/api/crm/backlinks/999/", json={}), 404)


def test_backlink_deal_must_be_same_brand(client: TestClient, session: Session) -> None:
    ct, desi = make_brand(session), make_brand(session)
    deal = make_deal(
        session,
        contact=make_contact(session, brand=desi),
        pipeline=make_pipeline(session, brand=desi),
    )
    link = make_backlink(session, brand=ct)
    r = client.patch(f"/api/crm/backlinks/{link.id}/", json={"deal_id": deal.id})
    assert_error(r, 422, "brand_mismatch")


def test_prompts_list_detail_patch(client: TestClient, session: Session) -> None:
    analyze = make_prompt(session, name="analyze", prompt_type="analyze_deal")
    make_prompt(session, name="classify", prompt_type="classify_reply")
    listed = client.get("/api/crm/prompts/").json()
    assert [p["name"] for p in listed] == ["analyze", "classify"]
    assert [
        p["name"] for p in client.get("/api/crm/prompts/?prompt_type=classify_reply").json()
    ] == ["classify"]
    url = f"/api/crm/prompts/{analyze.id}/"
    # Checked on save: a variable the deal analysis does not have is refused.
    assert_error(client.patch(url, json={"prompt_text": "New text {{ deal }}"}), 422)
    r = client.patch(url, json={"prompt_text": "New text {{ stage_name }}", "is_active": False})
    assert (r.json()["prompt_text"], r.json()["is_active"]) == ("New text {{ stage_name }}", False)
    assert r.json()["version"] == 2
    assert r.json()["updated_at"] > listed[0]["updated_at"]
    assert [p["name"] for p in client.get("/api/crm/prompts/?is_active=false").json()] == [
        "analyze"
    ]
    assert client.get(url).json()["prompt_text"] == "New text {{ stage_name }}"
    assert_error(client.patch(url, json={"prompt_text": ""}), 422)
    assert_error(client.patch(url, json={"prompt_text": None}), 422)
    assert_error(client.get("/api/crm/prompts/999/"), 404)
    assert_error(client.get("/api/crm/prompts/?prompt_type=poetry"), 422)


def test_suppressions_are_per_brand(client: TestClient, session: Session) -> None:
    ct, desi = make_brand(session, slug="codeteki"), make_brand(session, slug="desifirms")
    other = make_suppression(session, brand=desi, email="jane@example.com")
    r = client.post(
        "/api/crm/suppressions/",
        json={"brand_id": ct.id, "email": "Jane@Example.com", "detail": "asked by phone"},
    )
    assert r.status_code == 201, r.text
    mine = r.json()
    assert (mine["email"], mine["reason"], mine["brand_id"]) == (
        "jane@example.com",
        "manual",
        ct.id,
    )
    r = client.post("/api/crm/suppressions/", json={"brand_id": ct.id, "email": "jane@example.com"})
    assert_error(r, 409, "duplicate_suppression")
    assert [
        s["id"] for s in client.get("/api/crm/suppressions/?brand=codeteki").json()["items"]
    ] == [mine["id"]]
    assert client.get("/api/crm/suppressions/?email=JANE@example.com").json()["total"] == 2

    r = client.delete(f"/api/crm/suppressions/{mine['id']}/")
    assert r.status_code == 204
    assert r.content == b""
    # The other brand's suppression of the same address is untouched.
    assert [s["id"] for s in client.get("/api/crm/suppressions/").json()["items"]] == [other.id]
    assert_error(client.delete(f"/api/crm/suppressions/{mine['id']}/"), 404)
    bad = {"brand_id": ct.id, "email": "nope"}
    assert_error(client.post("/api/crm/suppressions/", json=bad), 422)
    bad = {"brand_id": ct.id, "email": "a@example.com", "reason": "whim"}
    assert fields_of(assert_error(client.post("/api/crm/suppressions/", json=bad), 422)) == {
        "reason"
    }
    bad = {"brand_id": 999, "email": "a@example.com"}
    assert_error(client.post("/api/crm/suppressions/", json=bad), 422, "invalid_reference")
