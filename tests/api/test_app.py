"""Cross-cutting behaviour: auth, the error envelope, request ids, slashes, health."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import create_app
from models import make_engine
from tests.api.conftest import API_KEY
from tests.api.helpers import assert_error, fields_of
from tests.factories import make_brand


def test_healthz_needs_no_key_and_checks_the_database(anon: TestClient) -> None:
    r = anon.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_down() -> None:
    dead = make_engine(
        "postgresql+psycopg2://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    with TestClient(create_app(engine=dead, api_keys={"k"})) as c:
        r = c.get("/healthz")
    assert_error(r, 503, "database_unavailable")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": f"Bearer {API_KEY}x"},
        {"Authorization": "Bearer "},
    ],
)
def test_missing_or_wrong_key_is_401_with_bearer_challenge(anon: TestClient, headers) -> None:
    r = anon.get("/api/crm/deals/", headers=headers)
    assert_error(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_every_configured_key_works(anon: TestClient) -> None:
    for key in (API_KEY, "test-key-2"):
        r = anon.get("/api/crm/brands/", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200


def test_auth_is_checked_before_the_query_is_validated(anon: TestClient) -> None:
    assert_error(anon.get("/api/crm/deals/?limit=9999"), 401)


def test_no_keys_configured_means_nobody_gets_in(engine) -> None:
    with TestClient(create_app(engine=engine, api_keys=set())) as c:
        r = c.get("/api/crm/brands/", headers={"Authorization": "Bearer "})
    assert_error(r, 401)


def test_unknown_path_is_a_404_envelope(client: TestClient) -> None:
    assert_error(client.get("/api/crm/nothing-here/"), 404, "not_found")
    assert_error(client.get("/nowhere"), 404, "not_found")


def test_wrong_method_is_a_405_envelope(client: TestClient) -> None:
    assert_error(client.delete("/api/crm/deals/"), 405, "method_not_allowed")
    assert_error(client.put("/api/crm/contacts/1/"), 405, "method_not_allowed")


def test_bad_id_in_path_is_a_422_envelope(client: TestClient) -> None:
    error = assert_error(client.get("/api/crm/deals/abc/"), 422, "validation_error")
    assert fields_of(error) == {"deal_id"}


def test_malformed_json_is_a_422_envelope(client: TestClient) -> None:
    r = client.post(
        "/api/crm/contacts/", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(r, 422, "validation_error")


def test_request_id_is_returned_and_a_sane_incoming_one_is_kept(client: TestClient) -> None:
    r = client.get("/api/crm/brands/")
    assert len(r.headers["X-Request-ID"]) == 32
    r = client.get("/api/crm/brands/", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    r = client.get("/api/crm/brands/", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["X-Request-ID"] != "bad id\twith spaces"
    error_body = client.get("/api/crm/brands/999/", headers={"X-Request-ID": "trace-9"}).json()
    assert error_body["request_id"] == "trace-9"


def test_paths_work_with_and_without_trailing_slash_without_redirect(
    client: TestClient, session: Session
) -> None:
    brand = make_brand(session, slug="codeteki")
    for path in ("/api/crm/brands/", "/api/crm/brands", f"/api/crm/brands/{brand.id}"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 200, path
    r = client.patch(f"/api/crm/brands/{brand.id}", json={"daily_cap": 5}, follow_redirects=False)
    assert r.status_code == 200
    assert r.json()["daily_cap"] == 5


def test_openapi_documents_the_crm_paths(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/crm/pipelines/",
        "/api/crm/pipelines/{pipeline_id}/",
        "/api/crm/deals/",
        "/api/crm/deals/{deal_id}/move-stage/",
        "/api/crm/contacts/",
        "/api/crm/email-sequences/",
        "/api/crm/ai-activity/",
        "/api/crm/ai-activity/{deal_id}/",
        "/api/crm/stats/",
    ):
        assert path in paths
    assert "/api/crm/deals" not in paths  # the slash-less twin is hidden
    assert client.get("/docs").status_code == 200


def test_nul_characters_are_a_422_not_a_driver_crash(client: TestClient, session: Session) -> None:
    error = assert_error(client.get("/api/crm/contacts/?search=a%00b"), 422, "validation_error")
    assert fields_of(error) == {"search"}
    brand = make_brand(session)
    r = client.post(
        "/api/crm/contacts/",
        json={"brand_id": brand.id, "email": "a@example.com", "tags": ["ok", "b\u0000d"]},
    )
    assert fields_of(assert_error(r, 422, "validation_error")) == {"tags.1"}


def test_out_of_range_numbers_are_client_errors(client: TestClient) -> None:
    # Bounded in the schema (a 64-bit id), so refused before any database sees them.
    assert_error(client.get("/api/crm/deals/99999999999999999999/"), 422, "validation_error")
    assert_error(client.get("/api/crm/deals/?offset=99999999999999999999"), 422, "validation_error")


def test_unexpected_errors_are_500_envelopes(app, anon: TestClient) -> None:
    @app.get("/test/crash")
    def crash() -> None:
        raise RuntimeError("bug")

    error = assert_error(anon.get("/test/crash"), 500, "internal_error")
    assert "bug" not in error["message"]


def test_request_id_is_bound_into_the_log_context(app, client: TestClient) -> None:
    import structlog

    @app.get("/test/context")
    def context() -> dict[str, str]:
        return {"request_id": structlog.contextvars.get_contextvars()["request_id"]}

    r = client.get("/test/context", headers={"X-Request-ID": "ctx-1"})
    assert r.json() == {"request_id": "ctx-1"}
