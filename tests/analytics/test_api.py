"""`/api/crm/analytics/...`: the known history's figures as JSON and as CSV, on SQLite and
PostgreSQL; bad input is a 4xx with the error envelope; the stage probability and the
pipeline's default deal value over REST."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api import create_app
from dealpilot.analytics import Table, to_csv
from dealpilot.core.settings import Settings
from dealpilot.deals.bulk import enrol
from dealpilot.deals.schemas import BulkEnrolRequest
from tests.analytics.history import History, build
from tests.api.conftest import AUTH
from tests.api.helpers import assert_error
from tests.factories import make_brand, make_contact, make_pipeline, stages_of

MARCH = "from=2026-03-01&to=2026-03-31"


@pytest.fixture
def api(any_engine: Engine) -> Iterator[tuple[TestClient, History]]:
    with Session(any_engine, expire_on_commit=False) as s:
        history = build(s)
    app = create_app(
        engine=any_engine, api_keys={"test-key-1"}, settings=Settings(DEALPILOT_ENV="test")
    )
    with TestClient(app, headers=AUTH) as client:
        yield client, history


def test_sections_as_json(api: tuple[TestClient, History]) -> None:
    c, h = api
    funnel = c.get(f"/api/crm/analytics/funnel/?{MARCH}&brand=codeteki").json()
    assert funnel["filters"] == {
        "date_from": "2026-03-01",
        "date_to": "2026-03-31",
        "brand_ids": [h.brand.id],
        "pipeline_id": None,
    }
    (sales,) = funnel["pipelines"]
    assert [(s["slug"], s["reached"], s["median_hours"]) for s in sales["stages"]] == [
        ("invited", 5, 36.0),
        ("follow-up-1", 2, 60.0),
        ("responded", 2, 24.0),
        ("won", 1, None),
        ("lost", 2, None),
    ]
    emails = c.get(f"/api/crm/analytics/emails/?{MARCH}").json()  # every brand
    assert (emails["total"]["sent"], emails["total"]["opened"]) == (8, 4)
    one = c.get(f"/api/crm/analytics/emails/?{MARCH}&pipeline={h.directory.id}").json()
    assert (one["total"]["sent"], one["total"]["open_rate"]) == (1, 1.0)
    ab = c.get(f"/api/crm/analytics/ab-tests/?{MARCH}&brand={h.brand.id}").json()
    assert ab["tests"][0]["replies"]["confidence"] == 0.2906
    assert [d["action_taken"] for d in ab["decided"]] == ["promoted B"]
    eng = c.get(f"/api/crm/analytics/engagement/?{MARCH}&brand=codeteki").json()
    assert eng["decision_totals"] == {"ghost": 1, "burnout": 1, "change_approach": 1}
    rev = c.get(f"/api/crm/analytics/revenue/?{MARCH}&brand=codeteki").json()
    assert (rev["open_value"], rev["forecast"], rev["won_value"]) == ("650.00", "212.50", "1000.00")
    # Without dates: the last 30 days up to today, where the history has nothing.
    recent = c.get("/api/crm/analytics/emails/").json()
    assert recent["total"]["sent"] == 0
    assert len(recent["by_day"]) == 30


def test_tables_as_csv(api: tuple[TestClient, History]) -> None:
    c, h = api
    r = c.get(f"/api/crm/analytics/funnel/?{MARCH}&brand=codeteki&format=csv")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == (
        'attachment; filename="funnel-stages-2026-03-01-2026-03-31.csv"'
    )
    p, st = h.sales.id, h.stages
    assert r.text.splitlines() == [
        "brand,pipeline_id,pipeline,stage_id,stage,order,kind,reached,next_stage_id,converted,"
        "conversion_rate,stays_ended,median_hours",
        f"codeteki,{p},Sales,{st['invited'].id},Invited,0,entry,5,{st['follow-up-1'].id},2,0.4,4,36.0",
        f"codeteki,{p},Sales,{st['follow-up-1'].id},Follow-up 1,1,sequence,2,"
        f"{st['responded'].id},1,0.5,2,60.0",
        f"codeteki,{p},Sales,{st['responded'].id},Responded,2,reply,2,{st['won'].id},1,0.5,1,24.0",
        f"codeteki,{p},Sales,{st['won'].id},Won,3,won,1,,0,0.0,0,",
        f"codeteki,{p},Sales,{st['lost'].id},Lost,4,lost,2,,0,0.0,0,",
    ]
    lost = c.get(f"/api/crm/analytics/funnel/?{MARCH}&brand=codeteki&format=csv&table=lost_reasons")
    assert lost.text.splitlines()[1:] == [
        f"codeteki,{p},Sales,ghost,1",
        f"codeteki,{p},Sales,not interested,1",
    ]
    variants = c.get(
        f"/api/crm/analytics/emails/?{MARCH}&brand=codeteki&format=csv&table=by_variant"
    ).text.splitlines()
    assert variants[0].startswith("key,label,sent,delivered,opened,machine_opened,clicked,")
    assert variants[1:] == [
        "A,Variant A,3,2,2,1,1,1,1,1,0,0,0.6667,0.6667,0.3333,0.3333,0.3333,0.3333,0.3333,0.0,0.0",
        "B,Variant B,4,4,1,1,0,1,0,0,1,1,1.0,0.25,0.25,0.0,0.25,0.0,0.0,0.25,0.25",
    ]
    tiers = c.get(f"/api/crm/analytics/engagement/?{MARCH}&brand=codeteki&format=csv").text
    assert f"{p},Sales,engaged,2,0.4" in tiers.splitlines()
    rev = c.get(
        f"/api/crm/analytics/revenue/?{MARCH}&brand=codeteki&format=csv&table=stages"
    ).text.splitlines()
    assert rev[3] == f"{p},Sales,{st['responded'].id},Responded,reply,0.500,true,1,400.00,200.00"


def test_bad_input_is_a_4xx_envelope(api: tuple[TestClient, History]) -> None:
    c, h = api
    base = "/api/crm/analytics/funnel/"
    assert_error(c.get(f"{base}?from=2026-13-01"), 422, "invalid_date")
    assert_error(c.get(f"{base}?to=yesterday"), 422, "invalid_date")
    assert_error(c.get(f"{base}?from=2026-03-10&to=2026-03-01"), 422, "invalid_range")
    assert_error(c.get(f"{base}?from=1990-01-01&to=2026-03-01"), 422, "invalid_range")
    assert_error(c.get(f"{base}?brand=nope"), 404, "unknown_brand")
    assert_error(c.get(f"{base}?pipeline=999999"), 404, "unknown_pipeline")
    # A pipeline of another brand than the one asked for.
    assert_error(c.get(f"{base}?brand=codeteki&pipeline={h.directory.id}"), 404, "unknown_pipeline")
    assert_error(c.get(f"{base}?pipeline=abc"), 422)
    assert_error(c.get(f"{base}?format=xml"), 422)
    assert_error(c.get(f"{base}?format=csv&table=nope"), 404, "unknown_table")
    assert_error(c.get(f"{base}?from={'9' * 300}"), 422)
    assert_error(c.get("/api/crm/analytics/funnel/", headers={"Authorization": "Bearer x"}), 401)


def test_probability_and_default_deal_value_over_rest(any_engine: Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as s:
        brand = make_brand(s, slug="codeteki")
        pipeline = make_pipeline(s, brand=brand, slug="sales")
        stage = stages_of(s, pipeline)["follow-up-1"]
        contacts = [make_contact(s, brand=brand) for _ in range(2)]
    app = create_app(engine=any_engine, api_keys={"test-key-1"})
    with TestClient(app, headers=AUTH) as c:
        r = c.patch(f"/api/crm/stages/{stage.id}/", json={"probability": 0.25})
        assert r.status_code == 200
        assert r.json()["probability"] == "0.250"
        assert c.get(f"/api/crm/stages/{stage.id}/").json()["probability"] == "0.250"
        assert_error(c.patch(f"/api/crm/stages/{stage.id}/", json={"probability": 1.5}), 422)
        r = c.patch(f"/api/crm/stages/{stage.id}/", json={"probability": None})
        assert r.json()["probability"] is None

        r = c.patch(f"/api/crm/pipelines/{pipeline.id}/", json={"default_deal_value": "1500"})
        assert r.status_code == 200
        assert r.json()["default_deal_value"] == "1500.00"
        assert_error(
            c.patch(f"/api/crm/pipelines/{pipeline.id}/", json={"default_deal_value": -1}), 422
        )
        plain = c.post(
            "/api/crm/deals/", json={"contact_id": contacts[0].id, "pipeline_id": pipeline.id}
        )
        assert plain.status_code == 201
        assert plain.json()["value"] == "1500.00"
        own = c.post(
            "/api/crm/deals/",
            json={"contact_id": contacts[1].id, "pipeline_id": pipeline.id, "value": "20"},
        )
        assert own.json()["value"] == "20.00"
        # The forecast weighs the new deals by the entry stage's default (5%).
        rev = c.get(f"/api/crm/analytics/revenue/?pipeline={pipeline.id}").json()
        assert (rev["open_value"], rev["forecast"]) == ("1520.00", "76.00")


def test_bulk_enrolment_takes_the_default_deal_value(any_engine: Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as s:
        brand = make_brand(s, slug="codeteki")
        pipeline = make_pipeline(s, brand=brand, slug="sales")
        pipeline.default_deal_value = Decimal("80.00")
        s.add(pipeline)
        s.commit()
        deals, _contacts, skipped = enrol(
            s,
            BulkEnrolRequest(
                pipeline_id=pipeline.id or 0, emails=["a@example.com", "b@example.com"]
            ),
        )
        assert skipped == []
        assert [d.value for d in deals] == [Decimal("80.00"), Decimal("80.00")]


def test_csv_cells_never_run_as_formulas() -> None:
    table = Table(["reason", "deals", "open"], [['=HYPERLINK("x")', -1, None], ["@sum", 2, True]])
    assert to_csv(table).splitlines() == [
        "reason,deals,open",
        '"\'=HYPERLINK(""x"")",-1,',
        "'@sum,2,true",
    ]
