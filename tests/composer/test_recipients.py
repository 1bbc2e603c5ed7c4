"""Recipients: search, and what sending would do with a messy pasted list, listed contacts and
a saved filter (valid / new / invalid / suppressed / open deal / duplicate)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import Contact, ContactType, DealStatus
from tests.composer.conftest import Setup
from tests.factories import make_contact, make_deal, make_suppression

RESOLVE = "/api/crm/composer/recipients/resolve/"


def test_a_pasted_list_a_contact_and_a_filter_resolved(
    client: TestClient, setup: Setup, session: Session
) -> None:
    brand = setup.brand
    known = make_contact(session, brand=brand, email="known@acme-client.com", name="Kim Known")
    busy = make_contact(session, brand=brand, email="busy@acme-client.com", tags=["agents"])
    make_deal(session, contact=busy, pipeline=setup.pipeline)
    closed = make_contact(session, brand=brand, email="closed@acme-client.com", tags=["agents"])
    make_deal(session, contact=closed, pipeline=setup.pipeline, status=DealStatus.lost)
    tagged = make_contact(
        session, brand=brand, email="tagged@acme-client.com", tags=["agents", "vic"]
    )
    make_contact(
        session,
        brand=brand,
        email="partner@acme-client.com",
        tags=["agents"],
        contact_type=ContactType.partner,
    )
    make_suppression(session, brand=brand, email="gone@acme-client.com")
    # Another brand's contact and suppression change nothing here.
    make_contact(session, brand=setup.other_brand, email="new.person@example.org", tags=["agents"])
    make_suppression(session, brand=setup.other_brand, email="raj@kumar.com.au")

    r = client.post(
        RESOLVE,
        json={
            "brand": "acme",
            "pipeline": "sales",
            "contact_ids": [known.id],
            "addresses": (
                "New Person <New.Person@Example.org>; raj@kumar.com.au\n"
                "KNOWN@acme-client.com, gone@acme-client.com,\n\nnot an address, "
                "busy@acme-client.com"
            ),
            "filter": {"tags": ["agents"], "contact_type": "lead"},
        },
    )
    assert r.status_code == 200, r.text
    got = [(x["source"], x["email"], x["status"]) for x in r.json()["recipients"]]
    assert got == [
        ("contact", "known@acme-client.com", "valid"),
        ("pasted", "new.person@example.org", "new"),
        ("pasted", "raj@kumar.com.au", "new"),
        ("pasted", "known@acme-client.com", "duplicate"),
        ("pasted", "gone@acme-client.com", "suppressed"),
        ("pasted", None, "invalid"),
        ("pasted", "busy@acme-client.com", "open_deal"),
        ("filter", "busy@acme-client.com", "duplicate"),
        ("filter", "closed@acme-client.com", "valid"),  # its deal is closed: may enrol again
        ("filter", "tagged@acme-client.com", "valid"),
    ]
    body = r.json()
    assert body["sendable"] == 5
    assert body["counts"] == {
        "valid": 3,
        "new": 2,
        "duplicate": 2,
        "suppressed": 1,
        "invalid": 1,
        "open_deal": 1,
    }
    by_email = {x["email"]: x for x in body["recipients"] if x["email"]}
    assert by_email["new.person@example.org"]["name"] == "New Person"
    assert by_email["known@acme-client.com"]["contact_id"] == known.id
    assert "unsubscribed" in by_email["gone@acme-client.com"]["message"]
    assert by_email["tagged@acme-client.com"]["contact_id"] == tagged.id
    # Resolving changes nothing.
    assert session.exec(select(Contact).where(Contact.email == "raj@kumar.com.au")).all() == []

    # Without a pipeline there is no open-deal check.
    r = client.post(RESOLVE, json={"brand": "acme", "addresses": "busy@acme-client.com"})
    assert r.json()["recipients"][0]["status"] == "valid"


def test_search_flags_suppressed_contacts(
    client: TestClient, setup: Setup, session: Session
) -> None:
    make_contact(session, brand=setup.brand, email="ann@shop.com", name="Ann Shop")
    make_contact(session, brand=setup.brand, email="bob@shop.com", company="Shop Pty Ltd")
    make_contact(session, brand=setup.brand, email="zed@else.com")
    make_contact(session, brand=setup.other_brand, email="ann@shop.com")
    make_suppression(session, brand=setup.brand, email="bob@shop.com")
    r = client.get("/api/crm/composer/recipients/", params={"brand": "acme", "q": "shop"})
    assert r.status_code == 200
    assert [(c["email"], c["suppressed"]) for c in r.json()] == [
        ("bob@shop.com", True),
        ("ann@shop.com", False),
    ]
    r = client.get("/api/crm/composer/recipients/", params={"brand": "nope"})
    assert r.status_code == 422
