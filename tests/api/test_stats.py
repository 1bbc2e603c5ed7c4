from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from models import DealStatus, EmailStatus
from tests.api.helpers import assert_error
from tests.factories import (
    make_brand,
    make_contact,
    make_deal,
    make_email_log,
    make_pipeline,
    stages_of,
)


def test_stats_per_pipeline_against_known_data(client: TestClient, session: Session) -> None:
    ct, desi = make_brand(session, slug="codeteki"), make_brand(session, slug="desifirms")
    sales = make_pipeline(session, brand=ct, slug="sales", name="Sales")
    make_pipeline(session, brand=ct, slug="empty", name="Empty")
    directory = make_pipeline(session, brand=desi, slug="dir", name="Directory")
    s = stages_of(session, sales)

    def deal(stage: str, status: DealStatus = DealStatus.active, pipeline=sales):
        contact = make_contact(session, brand=ct if pipeline is not directory else desi)
        stage_row = stages_of(session, pipeline)[stage]
        return make_deal(
            session, contact=contact, pipeline=pipeline, stage=stage_row, status=status
        )

    d1 = deal("invited")
    d2 = deal("invited")
    d3 = deal("follow-up-1", DealStatus.paused)
    d4 = deal("won", DealStatus.won)
    deal("lost", DealStatus.lost)
    deal("invited", pipeline=directory)

    # Sales emails: 4 sent (2 opened, 1 clicked, 1 replied, 1 bounced) + 1 failed (ignored).
    make_email_log(session, deal=d1, opened=True, clicked=True)
    make_email_log(session, deal=d2, opened=True, replied=True)
    make_email_log(session, deal=d3, bounced=True)
    make_email_log(session, deal=d4)
    make_email_log(session, deal=d4, status=EmailStatus.failed, opened=True)

    r = client.get("/api/crm/stats/")
    assert r.status_code == 200, r.text
    by_slug = {p["slug"]: p for p in r.json()["pipelines"]}
    assert list(by_slug) == ["sales", "empty", "dir"]

    got = by_slug["sales"]
    assert (got["name"], got["brand_slug"], got["pipeline_type"]) == ("Sales", "codeteki", "sales")
    assert [(st["name"], st["deals"]) for st in got["stages"]] == [
        ("Invited", 2),
        ("Follow-up 1", 1),
        ("Responded", 0),
        ("Won", 1),
        ("Lost", 1),
    ]
    assert got["stages"][0]["stage_id"] == s["invited"].id
    assert (got["total_deals"], got["active"], got["paused"], got["won"], got["lost"]) == (
        5,
        2,
        1,
        1,
        1,
    )
    assert got["emails"] == {
        "sent": 4,
        "opened": 2,
        "clicked": 1,
        "replied": 1,
        "bounced": 1,
        "open_rate": 0.5,
        "click_rate": 0.25,
        "reply_rate": 0.25,
        "bounce_rate": 0.25,
    }

    nothing = by_slug["empty"]
    assert nothing["total_deals"] == 0
    assert all(st["deals"] == 0 for st in nothing["stages"])
    assert nothing["emails"]["sent"] == 0
    assert nothing["emails"]["open_rate"] == 0.0

    assert by_slug["dir"]["active"] == 1
    assert by_slug["dir"]["stages"][0]["deals"] == 1


def test_stats_filters(client: TestClient, session: Session) -> None:
    ct, desi = make_brand(session, slug="codeteki"), make_brand(session, slug="desifirms")
    sales = make_pipeline(session, brand=ct, slug="sales")
    make_pipeline(session, brand=desi, slug="dir")

    def slugs(query: str) -> list[str]:
        r = client.get(f"/api/crm/stats/?{query}")
        assert r.status_code == 200, r.text
        return [p["slug"] for p in r.json()["pipelines"]]

    assert slugs("brand=desifirms") == ["dir"]
    assert slugs(f"brand={ct.id}") == ["sales"]
    assert slugs(f"pipeline={sales.id}") == ["sales"]
    assert slugs(f"pipeline={sales.id}&brand=desifirms") == []
    assert slugs("pipeline=999") == []
    assert_error(client.get("/api/crm/stats/?brand=nobody"), 422, "unknown_brand")
    assert_error(client.get("/api/crm/stats/?pipeline=sales"), 422, "validation_error")
