from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from models import ContactType
from tests.api.helpers import assert_error, fields_of
from tests.factories import make_brand, make_contact


def test_create_contact_lowercases_email(client: TestClient, session: Session) -> None:
    brand = make_brand(session, slug="codeteki")
    r = client.post(
        "/api/crm/contacts/",
        json={
            "brand_id": brand.id,
            "email": "Jane.Doe@Example.COM",
            "name": "Jane",
            "company": "Acme",
            "tags": ["seo"],
            "timezone": "Asia/Kolkata",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["email"] == "jane.doe@example.com"
    assert body["brand_id"] == brand.id
    assert body["contact_type"] == "lead"
    assert client.get(f"/api/crm/contacts/{body['id']}/").json() == body


def test_duplicate_contact_in_same_brand_is_409(client: TestClient, session: Session) -> None:
    brand = make_brand(session)
    make_contact(session, brand=brand, email="jane@example.com")
    r = client.post("/api/crm/contacts/", json={"brand_id": brand.id, "email": "JANE@example.com"})
    assert_error(r, 409, "duplicate_contact")


def test_same_email_in_another_brand_is_fine(client: TestClient, session: Session) -> None:
    a, b = make_brand(session), make_brand(session)
    make_contact(session, brand=a, email="jane@example.com")
    r = client.post("/api/crm/contacts/", json={"brand_id": b.id, "email": "jane@example.com"})
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@example.com", "contact_type": "vip"}, "contact_type"),
        ({"email": "a@example.com", "ai_score": 101}, "ai_score"),
        ({"email": "a@example.com", "timezone": "Mars/Olympus"}, "timezone"),
        ({}, "email"),
    ],
)
def test_create_contact_validation(client: TestClient, session: Session, body, field) -> None:
    brand = make_brand(session)
    r = client.post("/api/crm/contacts/", json={"brand_id": brand.id, **body})
    assert field in fields_of(assert_error(r, 422, "validation_error"))


def test_create_contact_for_unknown_brand(client: TestClient) -> None:
    r = client.post("/api/crm/contacts/", json={"brand_id": 4242, "email": "a@example.com"})
    assert fields_of(assert_error(r, 422, "invalid_reference")) == {"brand_id"}


def test_search_and_filters(client: TestClient, session: Session) -> None:
    ct = make_brand(session, slug="codeteki")
    desi = make_brand(session, slug="desifirms")
    jane = make_contact(session, brand=ct, email="jane@acme.io", name="Jane Smith", tags=["seo"])
    bob = make_contact(
        session,
        brand=ct,
        email="bob@blog.org",
        company="ACME Widgets",
        contact_type=ContactType.backlink_target,
        tags=["blog", "seo"],
    )
    raj = make_contact(session, brand=desi, email="raj@shop.au", name="Raj 100%")

    def ids(query: str) -> set[int]:
        r = client.get(f"/api/crm/contacts/?{query}")
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["total"] == len(page["items"])
        return {c["id"] for c in page["items"]}

    assert ids("") == {jane.id, bob.id, raj.id}
    assert ids("search=acme") == {jane.id, bob.id}  # email of one, company of the other
    assert ids("search=SMITH") == {jane.id}
    assert ids("search=100%25") == {raj.id}  # % is literal, not a wildcard
    assert ids("search=_") == set()
    assert ids("brand=desifirms") == {raj.id}
    assert ids(f"brand={ct.id}&search=acme") == {jane.id, bob.id}
    assert ids("contact_type=backlink_target") == {bob.id}
    assert ids("tag=seo") == {jane.id, bob.id}
    assert ids("tag=blog") == {bob.id}
    assert ids("tag=se") == set()


def test_contact_list_errors_and_pagination(client: TestClient, session: Session) -> None:
    brand = make_brand(session)
    for _ in range(5):
        make_contact(session, brand=brand)
    page = client.get("/api/crm/contacts/?limit=2&offset=1").json()
    assert (len(page["items"]), page["total"], page["limit"], page["offset"]) == (2, 5, 2, 1)
    assert_error(client.get("/api/crm/contacts/?contact_type=vip"), 422, "validation_error")
    assert_error(client.get("/api/crm/contacts/?brand=ghost"), 422, "unknown_brand")
    assert_error(client.get("/api/crm/contacts/?limit=1000"), 422, "validation_error")


def test_patch_contact(client: TestClient, session: Session) -> None:
    brand = make_brand(session)
    jane = make_contact(session, brand=brand, email="jane@example.com")
    make_contact(session, brand=brand, email="taken@example.com")
    url = f"/api/crm/contacts/{jane.id}/"
    r = client.patch(url, json={"name": "Jane D", "ai_score": 80, "email": "Jane2@Example.com"})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["ai_score"], r.json()["email"]) == (
        "Jane D",
        80,
        "jane2@example.com",
    )
    assert r.json()["updated_at"] > r.json()["created_at"]
    assert_error(client.patch(url, json={"email": "TAKEN@example.com"}), 409, "duplicate_contact")
    assert_error(client.patch(url, json={"email": "nope"}), 422, "validation_error")
    assert fields_of(assert_error(client.patch(url, json={"name": None}), 422)) == {"name"}
    assert client.patch(url, json={"ai_score": None}).json()["ai_score"] is None


def test_unknown_contact_is_404(client: TestClient) -> None:
    assert_error(client.get("/api/crm/contacts/999/"), 404, "not_found")
    assert_error(client.patch("/api/crm/contacts/999/", json={"name": "x"}), 404, "not_found")
