from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from dealpilot.accounts import create_user
from models import Deal, DealStatus, EngagementTier, UserRole, utcnow
from tests.api.helpers import assert_error, fields_of
from tests.factories import make_brand, make_contact, make_deal, make_pipeline, stages_of


@pytest.fixture
def world(session: Session) -> dict:
    codeteki = make_brand(session, slug="codeteki")
    desi = make_brand(session, slug="desifirms")
    sales = make_pipeline(session, brand=codeteki, slug="sales", name="Sales")
    other = make_pipeline(session, brand=codeteki, slug="backlinks", name="Backlinks")
    directory = make_pipeline(session, brand=desi, slug="directory", name="Directory")
    alice = make_contact(session, brand=codeteki, email="alice@example.com", name="Alice")
    bob = make_contact(session, brand=desi, email="bob@example.com", name="Bob")
    return {
        "codeteki": codeteki,
        "desi": desi,
        "sales": sales,
        "other": other,
        "directory": directory,
        "alice": alice,
        "bob": bob,
    }


def test_create_deal_defaults_to_first_stage_with_convenience_fields(
    client: TestClient, session: Session, world: dict
) -> None:
    r = client.post(
        "/api/crm/deals/",
        json={
            "contact_id": world["alice"].id,
            "pipeline_id": world["sales"].id,
            "value": "1500.50",
            "ai_notes": "met at a meetup",
        },
    )
    assert r.status_code == 201, r.text
    deal = r.json()
    first = stages_of(session, world["sales"])["invited"]
    assert deal["stage_id"] == first.id
    assert deal["stage_name"] == "Invited"
    assert deal["status"] == "active"
    assert deal["engagement_tier"] == "new"
    assert deal["value"] == "1500.50"
    assert deal["contact_email"] == "alice@example.com"
    assert deal["contact_name"] == "Alice"
    assert deal["pipeline_name"] == "Sales"
    assert deal["brand_slug"] == "codeteki"
    # Committed: a separate read sees it.
    assert client.get(f"/api/crm/deals/{deal['id']}/").json() == deal
    assert session.get(Deal, deal["id"]) is not None


def test_create_deal_with_explicit_stage(client: TestClient, session: Session, world) -> None:
    stage = stages_of(session, world["sales"])["follow-up-1"]
    r = client.post(
        "/api/crm/deals/",
        json={
            "contact_id": world["alice"].id,
            "pipeline_id": world["sales"].id,
            "stage_id": stage.id,
        },
    )
    assert r.status_code == 201
    assert r.json()["stage_name"] == "Follow-up 1"


def test_cross_brand_deal_is_rejected(client: TestClient, session: Session, world) -> None:
    r = client.post(
        "/api/crm/deals/",
        json={"contact_id": world["bob"].id, "pipeline_id": world["sales"].id},
    )
    error = assert_error(r, 422, "brand_mismatch")
    assert "brand" in error["message"]
    assert client.get("/api/crm/deals/").json()["total"] == 0


def test_stage_from_another_pipeline_is_rejected(client: TestClient, session: Session, world):
    foreign = stages_of(session, world["other"])["invited"]
    r = client.post(
        "/api/crm/deals/",
        json={
            "contact_id": world["alice"].id,
            "pipeline_id": world["sales"].id,
            "stage_id": foreign.id,
        },
    )
    assert fields_of(assert_error(r, 422, "stage_not_in_pipeline")) == {"stage_id"}


def test_second_open_deal_for_contact_in_pipeline_is_409(client: TestClient, world) -> None:
    body = {"contact_id": world["alice"].id, "pipeline_id": world["sales"].id}
    assert client.post("/api/crm/deals/", json=body).status_code == 201
    assert_error(client.post("/api/crm/deals/", json=body), 409, "deal_exists")
    # Another pipeline of the same brand is fine.
    other = {"contact_id": world["alice"].id, "pipeline_id": world["other"].id}
    assert client.post("/api/crm/deals/", json=other).status_code == 201


def test_a_closed_deal_does_not_block_a_new_one(client: TestClient, session: Session, world):
    make_deal(session, contact=world["alice"], pipeline=world["sales"], status=DealStatus.lost)
    body = {"contact_id": world["alice"].id, "pipeline_id": world["sales"].id}
    assert client.post("/api/crm/deals/", json=body).status_code == 201


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"contact_id": 999999, "pipeline_id": None}, "validation_error", "pipeline_id"),
        ({"contact_id": 999999}, "validation_error", "pipeline_id"),
        ({"contact_id": "x", "pipeline_id": 1}, "validation_error", "contact_id"),
        ({"contact_id": 1, "pipeline_id": 1, "value": "-3"}, "validation_error", "value"),
        ({"contact_id": 1, "pipeline_id": 1, "value": "1e20"}, "validation_error", "value"),
    ],
)
def test_create_deal_body_errors(client: TestClient, body, code, field) -> None:
    assert field in fields_of(assert_error(client.post("/api/crm/deals/", json=body), 422, code))


def test_unknown_contact_or_pipeline_is_422_invalid_reference(client: TestClient, world) -> None:
    r = client.post(
        "/api/crm/deals/", json={"contact_id": 999999, "pipeline_id": world["sales"].id}
    )
    assert fields_of(assert_error(r, 422, "invalid_reference")) == {"contact_id"}
    r = client.post(
        "/api/crm/deals/", json={"contact_id": world["alice"].id, "pipeline_id": 999999}
    )
    assert fields_of(assert_error(r, 422, "invalid_reference")) == {"pipeline_id"}


def test_get_unknown_deal_is_404(client: TestClient) -> None:
    assert_error(client.get("/api/crm/deals/424242/"), 404, "not_found")
    assert_error(client.patch("/api/crm/deals/424242/", json={}), 404, "not_found")
    assert_error(client.post("/api/crm/deals/424242/move-stage/", json={"stage_id": 1}), 404)


def test_list_filters(client: TestClient, session: Session, world) -> None:
    stages = stages_of(session, world["sales"])
    carol = make_contact(session, brand=world["codeteki"], email="carol@example.com")
    d1 = make_deal(session, contact=world["alice"], pipeline=world["sales"])
    d2 = make_deal(
        session,
        contact=carol,
        pipeline=world["sales"],
        stage=stages["follow-up-1"],
        engagement_tier=EngagementTier.hot,
    )
    d3 = make_deal(
        session, contact=world["bob"], pipeline=world["directory"], status=DealStatus.won
    )

    def ids(query: str) -> list[int]:
        r = client.get(f"/api/crm/deals/?{query}")
        assert r.status_code == 200, r.text
        return sorted(d["id"] for d in r.json()["items"])

    assert ids("") == sorted([d1.id, d2.id, d3.id])
    assert ids(f"pipeline={world['sales'].id}") == sorted([d1.id, d2.id])
    assert ids(f"stage={stages['follow-up-1'].id}") == [d2.id]
    assert ids("status=won") == [d3.id]
    assert ids("brand=desifirms") == [d3.id]
    assert ids(f"brand={world['codeteki'].id}") == sorted([d1.id, d2.id])
    assert ids("tier=hot") == [d2.id]
    assert ids(f"contact={world['alice'].id}") == [d1.id]
    assert ids("status=active&tier=new") == [d1.id]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=nope", "status"),
        ("tier=lukewarm", "tier"),
        ("pipeline=abc", "pipeline"),
        ("stage=1.5", "stage"),
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
    ],
)
def test_bad_filters_are_422(client: TestClient, query: str, field: str) -> None:
    error = assert_error(client.get(f"/api/crm/deals/?{query}"), 422, "validation_error")
    assert fields_of(error) == {field}


def test_unknown_brand_filter_is_422(client: TestClient) -> None:
    error = assert_error(client.get("/api/crm/deals/?brand=nobody"), 422, "unknown_brand")
    assert fields_of(error) == {"brand"}


def test_pagination_totals_and_order(client: TestClient, session: Session, world) -> None:
    now = utcnow()
    made = []
    for i in range(7):
        contact = make_contact(session, brand=world["codeteki"])
        made.append(
            make_deal(
                session,
                contact=contact,
                pipeline=world["sales"],
                created_at=now - timedelta(minutes=i),
            )
        )
    r = client.get("/api/crm/deals/?limit=3&offset=0").json()
    assert (r["total"], r["limit"], r["offset"]) == (7, 3, 0)
    assert [d["id"] for d in r["items"]] == [d.id for d in made[:3]]  # newest first
    r = client.get("/api/crm/deals/?limit=3&offset=6").json()
    assert r["total"] == 7
    assert [d["id"] for d in r["items"]] == [made[6].id]
    r = client.get("/api/crm/deals/?offset=50").json()
    assert (r["items"], r["total"], r["limit"]) == ([], 7, 50)


def test_patch_deal_fields(client: TestClient, session: Session, world) -> None:
    deal = make_deal(session, contact=world["alice"], pipeline=world["sales"])
    r = client.patch(f"/api/crm/deals/{deal.id}/", json={"value": 99, "ai_notes": "warm lead"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["value"], body["ai_notes"], body["status"]) == ("99.00", "warm lead", "active")
    assert client.patch(f"/api/crm/deals/{deal.id}/", json={"value": None}).json()["value"] is None


def test_patch_deal_owner(client: TestClient, session: Session, world) -> None:
    """The owner is a console user who may see the deal's brand; null unassigns."""
    pw = "a-long-password-1"
    ct = create_user(
        session, email="ct@example.com", password=pw, role=UserRole.operator, brands=["codeteki"]
    )
    desi = create_user(
        session, email="desi@example.com", password=pw, role=UserRole.operator, brands=["desifirms"]
    )
    session.commit()
    deal = make_deal(session, contact=world["alice"], pipeline=world["sales"])
    url = f"/api/crm/deals/{deal.id}/"
    r = client.patch(url, json={"owner_id": ct.id})
    assert (r.status_code, r.json()["owner_id"]) == (200, ct.id)
    error = assert_error(client.patch(url, json={"owner_id": desi.id}), 422, "invalid_owner")
    assert fields_of(error) == {"owner_id"}
    assert_error(client.patch(url, json={"owner_id": 999_999}), 422, "invalid_owner")
    assert client.get(url).json()["owner_id"] == ct.id
    assert client.patch(url, json={"owner_id": None}).json()["owner_id"] is None


def test_patch_stage_or_status_needs_the_workflow(
    client: TestClient, session: Session, world
) -> None:
    """Stage and status belong to the deal's workflow: without Temporal they are refused
    (503 in the envelope), and the DB-only fields sent with them are not written either."""
    deal = make_deal(session, contact=world["alice"], pipeline=world["sales"])
    target = stages_of(session, world["sales"])["responded"]
    url = f"/api/crm/deals/{deal.id}/"
    for change in ({"status": "paused"}, {"status": "won"}, {"stage_id": target.id}):
        r = client.patch(url, json={"value": 5, **change})
        assert_error(r, 503, "temporal_unavailable")
    after = client.get(url).json()
    assert (after["status"], after["stage_name"], after["value"]) == ("active", "Invited", None)
    # Sending the current values is not a change, and needs no workflow.
    assert (
        client.patch(url, json={"status": "active", "stage_id": deal.stage_id}).status_code == 200
    )


def test_patch_deal_bad_values(client: TestClient, session: Session, world) -> None:
    deal = make_deal(session, contact=world["alice"], pipeline=world["sales"])
    assert_error(client.patch(f"/api/crm/deals/{deal.id}/", json={"status": "gone"}), 422)
    error = assert_error(client.patch(f"/api/crm/deals/{deal.id}/", json={"ai_notes": None}), 422)
    assert fields_of(error) == {"ai_notes"}


def test_a_closed_deal_is_not_reopened(client: TestClient, session: Session, world) -> None:
    lost = make_deal(
        session, contact=world["alice"], pipeline=world["sales"], status=DealStatus.lost
    )
    responded = stages_of(session, world["sales"])["responded"]
    url = f"/api/crm/deals/{lost.id}/"
    assert_error(client.patch(url, json={"status": "active"}), 409, "deal_closed")
    assert_error(client.patch(url, json={"stage_id": responded.id}), 409, "deal_closed")
    # Its notes can still be kept up to date.
    assert client.patch(url, json={"ai_notes": "try again in 2027"}).status_code == 200


def test_workflow_actions_without_temporal_are_503(
    client: TestClient, session: Session, world
) -> None:
    deal = make_deal(session, contact=world["alice"], pipeline=world["sales"])
    base = f"/api/crm/deals/{deal.id}"
    for method, path, body in [
        ("POST", "/move-stage/", {"stage": "won"}),
        ("POST", "/next-stage/", None),
        ("POST", "/mark-won/", None),
        ("POST", "/mark-lost/", {"reason": "no budget"}),
        ("POST", "/pause/", None),
        ("POST", "/resume/", None),
        ("POST", "/send-now/", None),
        ("POST", "/start/", None),
        ("GET", "/state/", None),
        ("GET", "/timeline/", None),
    ]:
        r = client.request(method, base + path, json=body)
        error = assert_error(r, 503, "temporal_unavailable")
        assert "Temporal" in error["message"]
    after = client.get(f"{base}/").json()
    assert (after["status"], after["stage_name"]) == ("active", "Invited")


def test_deal_actions_on_an_unknown_deal_are_404_even_without_temporal(
    client: TestClient,
) -> None:
    for path in ("move-stage", "mark-won", "pause", "send-now"):
        body = {"stage": "won"} if path == "move-stage" else None
        assert_error(client.post(f"/api/crm/deals/424242/{path}/", json=body), 404, "not_found")
    assert_error(client.get("/api/crm/deals/424242/state/"), 404, "not_found")


def test_deals_and_email_logs_page_by_key(client: TestClient, session: Session, world) -> None:
    """`next_after` pages through the newest-first lists by key; a bad cursor is a 422."""
    now = utcnow()
    for i in range(5):
        contact = make_contact(session, brand=world["codeteki"], email=f"k{i}@example.com")
        make_deal(session, contact=contact, pipeline=world["sales"], created_at=now)  # one tie
    session.commit()
    by_offset = client.get("/api/crm/deals/?limit=100").json()
    ids, after, cursors = [], None, []
    while True:
        r = client.get(
            "/api/crm/deals/", params={"limit": 2, **({"after": after} if after else {})}
        )
        assert r.status_code == 200, r.text
        ids += [d["id"] for d in r.json()["items"]]
        after = r.json()["next_after"]
        if after is None:
            break
        cursors.append(after)
    assert ids == [d["id"] for d in by_offset["items"]]
    assert len(ids) == 5
    for bad in ("nope", "x" * 201):
        assert_error(client.get("/api/crm/deals/", params={"after": bad}), 422)
    assert len(cursors) == 2
    both = client.get("/api/crm/deals/", params={"after": cursors[0], "offset": 2})
    assert_error(both, 422)
    assert "not both" in both.text
    assert client.get("/api/crm/email-logs/?limit=1").json()["next_after"] is None  # none sent
