"""The development default is SQLite: the dialect-specific parts work on both databases."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api import create_app
from tests.api.conftest import AUTH
from tests.api.helpers import assert_error
from tests.factories import make_brand, make_contact, make_pipeline


def test_tag_filter_deal_creation_and_stats(any_engine: Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as session:
        brand = make_brand(session, slug="codeteki")
        pipeline = make_pipeline(session, brand=brand)
        tagged = make_contact(session, brand=brand, tags=["seo", "au"])
        make_contact(session, brand=brand, tags=["blog"])
    with TestClient(create_app(engine=any_engine, api_keys={"test-key-1"}), headers=AUTH) as c:
        r = c.get("/api/crm/contacts/?tag=au")
        assert [x["id"] for x in r.json()["items"]] == [tagged.id]
        body = {"contact_id": tagged.id, "pipeline_id": pipeline.id}
        assert c.post("/api/crm/deals/", json=body).status_code == 201
        assert_error(c.post("/api/crm/deals/", json=body), 409, "deal_exists")
        stats = c.get("/api/crm/stats/").json()["pipelines"][0]
        assert (stats["active"], stats["stages"][0]["deals"]) == (1, 1)
        assert c.get("/healthz").status_code == 200
