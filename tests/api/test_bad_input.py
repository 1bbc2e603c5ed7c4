"""Bad input is a 4xx, always (issue 10): each cause of the fuzzer's server errors, once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.api.helpers import assert_error, fields_of
from tests.factories import make_brand

TOO_BIG = 2**63  # one past the largest BIGINT


def test_ids_and_offsets_beyond_64_bits_are_422(client: TestClient, session: Session) -> None:
    brand = make_brand(session)
    for url in (
        f"/api/crm/deals/{TOO_BIG}/",
        "/api/crm/deals/99999999999999999999/",
        f"/api/crm/brands/{TOO_BIG}/",
        f"/api/crm/contacts/{TOO_BIG}/",
        "/api/crm/deals/0/",
        f"/api/crm/deals/?pipeline={TOO_BIG}",
        f"/api/crm/deals/?offset={TOO_BIG}",
        f"/api/crm/email-logs/?deal={TOO_BIG}",
    ):
        assert_error(client.get(url), 422, "validation_error")
    r = client.post(
        "/api/crm/deals/", json={"contact_id": TOO_BIG, "pipeline_id": 1, "stage_id": -TOO_BIG}
    )
    assert fields_of(assert_error(r, 422, "validation_error")) >= {"contact_id", "stage_id"}
    r = client.post("/api/crm/contacts/", json={"brand_id": TOO_BIG, "email": "a@example.com"})
    assert fields_of(assert_error(r, 422, "validation_error")) == {"brand_id"}
    r = client.post("/api/crm/deals/drafts/", json={"deal_ids": [1, TOO_BIG]})
    assert_error(r, 422, "validation_error")
    r = client.post("/api/crm/backlinks/enrol/", json={"ids": [-TOO_BIG]})
    assert_error(r, 422, "validation_error")
    assert client.get(f"/api/crm/brands/{brand.id}/").status_code == 200


def test_a_brand_ref_in_unicode_digits_is_unknown(client: TestClient, session: Session) -> None:
    make_brand(session)
    for ref in ("%C2%B2", "%D9%A3", "１"):  # superscript two, Arabic-Indic three, fullwidth one
        assert_error(client.get(f"/api/crm/contacts/?brand={ref}"), 422, "unknown_brand")
        assert_error(client.get(f"/api/crm/deals/?brand={ref}"), 422, "unknown_brand")


def test_brand_fields_are_validated_on_create_and_patch(
    client: TestClient, session: Session
) -> None:
    brand = make_brand(session)
    url = f"/api/crm/brands/{brand.id}/"
    for field, value in (
        ("from_email", ""),
        ("from_email", "not-an-address"),
        ("reply_to", "nobody@"),
        ("domain", ""),
        ("domain", "has space.com"),
        ("daily_cap", 0),
        ("daily_cap", TOO_BIG),
        ("min_gap_seconds", -1),
        ("send_window_start", "10:00:00Z"),
        ("send_window_end", "17:00:00+10:00"),
    ):
        r = client.patch(url, json={field: value})
        assert fields_of(assert_error(r, 422, "validation_error")) == {field}, (field, value)
    create = {
        "slug": "zoned",
        "name": "Zoned",
        "domain": "zoned.example.com",
        "from_email": "hello@zoned.example.com",
        "from_name": "Zoned",
    }
    r = client.post("/api/crm/brands/", json={**create, "send_window_start": "10:00:00Z"})
    assert fields_of(assert_error(r, 422, "validation_error")) == {"send_window_start"}
    r = client.post("/api/crm/brands/", json={**create, "from_email": ""})
    assert fields_of(assert_error(r, 422, "validation_error")) == {"from_email"}
    r = client.patch(url, json={"from_email": "Sales@Example.com", "reply_to": "", "daily_cap": 1})
    assert r.status_code == 200, r.text
    assert (r.json()["daily_cap"], r.json()["reply_to"]) == (1, "")


def test_a_pipeline_ref_in_unicode_digits_is_not_an_id(
    client: TestClient, session: Session
) -> None:
    """Composer drafts and the contact import read a pipeline ref the same way as a brand ref:
    "²" is no row id (int() refuses it), so it is looked up as a slug and not found."""
    make_brand(session, slug="acme")
    draft = {"brand": "acme", "pipeline": "²", "ai": False, "subject": "S", "body": "B"}
    r = client.post("/api/crm/composer/drafts/", json={**draft, "email_type": "intro"})
    assert 400 <= r.status_code < 500, r.text
    upload = {"file": ("c.csv", b"email\na@example.com\n", "text/csv")}
    r = client.post(
        "/api/crm/contacts/import/", data={"brand": "acme", "pipeline": "²"}, files=upload
    )
    assert 400 <= r.status_code < 500, r.text
