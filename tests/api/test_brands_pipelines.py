from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from models import StageKind
from tests.api.helpers import assert_error, fields_of
from tests.factories import make_brand, make_pipeline, stages_of

BRAND = {
    "slug": "codeteki",
    "name": "Codeteki",
    "domain": "codeteki.au",
    "from_email": "outreach@codeteki.au",
    "from_name": "Codeteki",
}


def test_brand_create_list_detail(client: TestClient) -> None:
    r = client.post("/api/crm/brands/", json={**BRAND, "provider": "zoho"})
    assert r.status_code == 201, r.text
    brand = r.json()
    assert (brand["provider"], brand["timezone"], brand["send_window_start"]) == (
        "zoho",
        "Australia/Sydney",
        "09:00:00",
    )
    assert client.get("/api/crm/brands/").json() == [brand]
    assert client.get(f"/api/crm/brands/{brand['id']}/").json() == brand
    assert_error(client.post("/api/crm/brands/", json=BRAND), 409, "duplicate_brand")
    assert_error(client.get("/api/crm/brands/999/"), 404, "not_found")


def test_brand_create_validation(client: TestClient) -> None:
    r = client.post("/api/crm/brands/", json={**BRAND, "timezone": "Sydney"})
    assert fields_of(assert_error(r, 422, "validation_error")) == {"timezone"}
    r = client.post(
        "/api/crm/brands/",
        json={**BRAND, "send_window_start": "18:00", "send_window_end": "09:00"},
    )
    assert_error(r, 422, "validation_error")
    r = client.post("/api/crm/brands/", json={**BRAND, "provider": "carrier-pigeon"})
    assert fields_of(assert_error(r, 422)) == {"provider"}


def test_brand_patch(client: TestClient, session: Session) -> None:
    brand = make_brand(session)
    url = f"/api/crm/brands/{brand.id}/"
    r = client.patch(
        url,
        json={
            "send_window_start": "08:30",
            "send_window_end": "16:00",
            "daily_cap": 50,
            "provider": "zeptomail",
            "human_review": True,
            "timezone": "Asia/Kolkata",
            "send_days": [4, 0, 0],
        },
    )
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["send_window_start"], b["send_window_end"], b["daily_cap"]) == (
        "08:30:00",
        "16:00:00",
        50,
    )
    assert (b["provider"], b["human_review"], b["timezone"]) == ("zeptomail", True, "Asia/Kolkata")
    assert b["send_days"] == [0, 4]
    # Only the end moves, but it would fall before the stored start.
    err = assert_error(client.patch(url, json={"send_window_end": "08:00"}), 422)
    assert fields_of(err) == {"send_window_end"}
    assert client.get(url).json()["send_window_end"] == "16:00:00"  # rolled back
    assert fields_of(assert_error(client.patch(url, json={"timezone": "Nowhere/X"}), 422)) == {
        "timezone"
    }
    assert fields_of(assert_error(client.patch(url, json={"daily_cap": -1}), 422)) == {"daily_cap"}
    assert fields_of(assert_error(client.patch(url, json={"send_days": [7]}), 422)) == {"send_days"}
    assert_error(client.patch("/api/crm/brands/999/", json={}), 404)


def test_pipeline_create_with_inline_stages(client: TestClient, session: Session) -> None:
    brand = make_brand(session, slug="codeteki")
    r = client.post(
        "/api/crm/pipelines/",
        json={
            "brand_id": brand.id,
            "name": "Sales",
            "slug": "sales",
            "pipeline_type": "sales",
            "stages": [
                {"name": "Won", "slug": "won", "order": 2, "kind": "won", "is_terminal": True},
                {"name": "Invited", "slug": "invited", "order": 0, "kind": "entry"},
                {"name": "Follow-up", "slug": "fu", "order": 1, "kind": "sequence"},
                {"name": "Lost", "slug": "lost", "order": 3, "kind": "lost", "is_terminal": True},
            ],
        },
    )
    assert r.status_code == 201, r.text
    p = r.json()
    assert [s["slug"] for s in p["stages"]] == ["invited", "fu", "won", "lost"]
    assert client.get(f"/api/crm/pipelines/{p['id']}/").json() == p
    r = client.post(
        "/api/crm/pipelines/",
        json={"brand_id": brand.id, "name": "Sales 2", "slug": "sales", "pipeline_type": "sales"},
    )
    assert_error(r, 409, "duplicate_pipeline")


def test_pipeline_create_errors(client: TestClient, session: Session) -> None:
    brand = make_brand(session)
    base = {"brand_id": brand.id, "name": "P", "slug": "p", "pipeline_type": "sales"}
    dup_stages = [
        {"name": "A", "slug": "a", "order": 0, "kind": "entry"},
        {"name": "B", "slug": "a", "order": 1, "kind": "sequence"},
    ]
    assert_error(client.post("/api/crm/pipelines/", json={**base, "stages": dup_stages}), 422)
    assert client.get("/api/crm/pipelines/").json() == []  # nothing half-created
    r = client.post("/api/crm/pipelines/", json={**base, "pipeline_type": "crypto"})
    assert fields_of(assert_error(r, 422)) == {"pipeline_type"}
    r = client.post("/api/crm/pipelines/", json={**base, "brand_id": 999})
    assert_error(r, 422, "invalid_reference")
    no_lost = [{"name": "A", "slug": "a", "order": 0, "kind": "entry"}]
    r = client.post("/api/crm/pipelines/", json={**base, "stages": no_lost})
    assert fields_of(assert_error(r, 422, "validation_error")) == {"stages"}
    bad_stage = [{"name": "A", "slug": "a", "order": -1, "kind": "entry"}]
    r = client.post("/api/crm/pipelines/", json={**base, "stages": bad_stage})
    assert fields_of(assert_error(r, 422)) == {"stages.0.order"}


def test_pipeline_list_filters_and_patch(client: TestClient, session: Session) -> None:
    ct = make_brand(session, slug="codeteki")
    desi = make_brand(session, slug="desifirms")
    sales = make_pipeline(session, brand=ct, slug="sales", pipeline_type="sales")
    links = make_pipeline(session, brand=ct, slug="links", pipeline_type="backlink")
    directory = make_pipeline(session, brand=desi, slug="dir", pipeline_type="directory")

    def slugs(query: str) -> list[str]:
        r = client.get(f"/api/crm/pipelines/?{query}")
        assert r.status_code == 200, r.text
        return [p["slug"] for p in r.json()]

    assert slugs("") == ["sales", "links", "dir"]
    assert slugs("brand=codeteki") == ["sales", "links"]
    assert slugs(f"brand={desi.id}") == ["dir"]
    assert slugs("type=backlink") == ["links"]
    assert slugs("brand=desifirms&type=sales") == []
    assert_error(client.get("/api/crm/pipelines/?type=nope"), 422, "validation_error")
    assert_error(client.get("/api/crm/pipelines/?brand=nobody"), 422, "unknown_brand")

    r = client.patch(
        f"/api/crm/pipelines/{sales.id}/", json={"name": "Sales AU", "human_review": True}
    )
    assert (r.json()["name"], r.json()["human_review"]) == ("Sales AU", True)
    assert len(r.json()["stages"]) == 5
    r = client.patch(f"/api/crm/pipelines/{sales.id}/", json={"slug": links.slug})
    assert_error(r, 409, "duplicate_pipeline")
    # Slugs are per brand: another brand's slug is fine.
    r = client.patch(f"/api/crm/pipelines/{sales.id}/", json={"slug": directory.slug})
    assert r.status_code == 200
    assert_error(client.get("/api/crm/pipelines/999/"), 404)
    assert_error(client.patch("/api/crm/pipelines/999/", json={}), 404)


def test_stages(client: TestClient, session: Session) -> None:
    brand = make_brand(session)
    sales = make_pipeline(session, brand=brand)
    other = make_pipeline(session, brand=brand)
    stages = stages_of(session, sales)

    listed = client.get(f"/api/crm/stages/?pipeline={sales.id}").json()
    assert [s["slug"] for s in listed] == list(stages)
    assert len(client.get("/api/crm/stages/").json()) == 10
    assert_error(client.get("/api/crm/stages/?pipeline=x"), 422)

    r = client.post(
        "/api/crm/stages/",
        json={
            "pipeline_id": sales.id,
            "name": "Parked",
            "slug": "parked",
            "order": 9,
            "kind": "manual",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == StageKind.manual
    dup = {"pipeline_id": sales.id, "name": "X", "slug": "parked", "order": 10, "kind": "manual"}
    assert_error(client.post("/api/crm/stages/", json=dup), 409, "duplicate_stage")
    assert client.post("/api/crm/stages/", json={**dup, "pipeline_id": other.id}).status_code == 201
    assert_error(
        client.post("/api/crm/stages/", json={**dup, "pipeline_id": 999}), 422, "invalid_reference"
    )

    url = f"/api/crm/stages/{stages['follow-up-1'].id}/"
    r = client.patch(url, json={"subject_variant_b": "Quick question", "days_until_followup": 4})
    assert (r.json()["subject_variant_b"], r.json()["days_until_followup"]) == ("Quick question", 4)
    assert client.patch(url, json={"subject_variant_b": None}).json()["subject_variant_b"] is None
    assert_error(client.patch(url, json={"order": 0}), 409, "duplicate_stage")
    assert_error(client.patch(url, json={"days_until_followup": -2}), 422)
    assert_error(client.patch(url, json={"kind": "limbo"}), 422)
    assert_error(client.patch("/api/crm/stages/999/", json={}), 404)
    assert client.get(url).json()["days_until_followup"] == 4
