"""The backlink endpoints over HTTP (no Temporal): import, pitch, enrol, verify, listing."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api import create_app
from dealpilot.ai import build_engine
from dealpilot.core.settings import Settings
from models import AIDecisionLog, BacklinkOpportunity, Brand, Contact, Deal, PipelineType, StageKind
from tests.ai.fake_openai import FakeOpenAI, completion, serve_openai
from tests.api.helpers import assert_error
from tests.backlinks.pages import Pages
from tests.factories import make_backlink, make_brand, make_contact, make_pipeline

DATA = Path(__file__).parent / "data"
KEY = "backlinks-key"
BACKLINK_STAGES = (
    ("Target Found", "target-found", StageKind.entry),
    ("Pitch Sent", "pitch-sent", StageKind.sequence),
    ("Responded", "responded", StageKind.reply),
    ("Link Placed", "link-placed", StageKind.won),
    ("Rejected", "rejected", StageKind.lost),
)
SETTINGS = Settings(
    _env_file=None,
    DEALPILOT_ENV="test",
    LINK_CHECK_TIMEOUT=2,
    LINK_CHECK_DEADLINE=5,
    LINK_CHECK_ALLOW_PRIVATE=True,  # the pages are served on 127.0.0.1
)


def _client(engine: Engine, **kw: Any) -> TestClient:
    app: FastAPI = create_app(engine=engine, api_keys={KEY}, settings=SETTINGS, **kw)
    return TestClient(app, headers={"Authorization": f"Bearer {KEY}"})


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with _client(engine) as c:
        yield c


@pytest.fixture
def brand(session: Session) -> Brand:
    return make_brand(session, slug="codeteki", name="Codeteki")


def _upload(client: TestClient, name: str, data: bytes | None = None, **form: str) -> Any:
    body = data if data is not None else (DATA / name).read_bytes()
    return client.post(
        "/api/crm/backlinks/import/",
        files={"file": (name, io.BytesIO(body), "text/csv")},
        data={"brand": "codeteki", **form},
    )


def _opps(engine: Engine) -> list[BacklinkOpportunity]:
    with Session(engine) as s:
        return list(s.exec(select(BacklinkOpportunity).order_by(col(BacklinkOpportunity.id))))


# ------------------------------------------------------------------------------ import
def test_import_then_reimport(client: TestClient, engine: Engine, brand: Brand) -> None:
    r = _upload(client, "ahrefs_backlinks.csv", keywords="web development, startups")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["tool"], body["created"], body["skipped"], body["invalid"]) == (
        "ahrefs",
        3,
        1,
        1,
    )
    assert {(row["line"], row["result"]) for row in body["rows"]} == {
        (3, "skipped"),
        (6, "invalid"),
    }
    again = _upload(client, "ahrefs_backlinks.csv", keywords="web development, startups")
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["skipped"]) == (0, 4)
    assert len(_opps(engine)) == 3


def test_bad_files_are_clear_422s_and_write_nothing(
    client: TestClient, engine: Engine, brand: Brand
) -> None:
    good = (DATA / "semrush_backlinks.csv").read_bytes()
    broken = good + b'"10","Caf\xe9","https://x.example.com/","","","","","","","","","","",'
    err = assert_error(_upload(client, "s.csv", broken), 422, "invalid_file")
    assert err["details"][0]["problem"].startswith("line 6:")
    err = assert_error(_upload(client, "e.csv", b""), 422, "invalid_file")
    err = assert_error(_upload(client, "x.csv", b"Domain rating,Anchor\n5,a\n"), 422)
    assert err["code"] == "missing_columns"
    err = assert_error(_upload(client, "s.csv", good, tool="moz"), 422, "unknown_tool")
    err = assert_error(
        client.post(
            "/api/crm/backlinks/import/",
            files={"file": ("s.csv", io.BytesIO(good), "text/csv")},
            data={"brand": "nope"},
        ),
        422,
        "unknown_brand",
    )
    err = assert_error(
        client.post(
            "/api/crm/backlinks/import/",
            files={"file": ("s.csv", io.BytesIO(good), "text/csv")},
            data={"brand": "codeteki", "keywords": "web\x00dev"},
        ),
        422,
        "validation_error",
    )
    assert err["details"] == [{"field": "keywords", "problem": "contains a NUL character"}]
    assert _opps(engine) == []


# ------------------------------------------------------------------------------- pitch
def test_pitch_with_the_heuristic_engine_is_stored_and_logged(
    client: TestClient, engine: Engine, session: Session, brand: Brand
) -> None:
    opp = make_backlink(
        session,
        brand=brand,
        domain_authority=55,
        our_content_url="https://codeteki.example.com/guide",
        source_data={"Source title": "Web dev tools"},
    )
    r = client.post(f"/api/crm/backlinks/{opp.id}/pitch/")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outreach_angle"].startswith("Resource addition")
    assert body["anchor_text_suggestion"]
    with Session(engine) as s:
        (log,) = s.exec(select(AIDecisionLog)).all()
    assert (log.decision_type, log.brand_id, log.model) == (
        "generate_backlink_pitch",
        brand.id,
        "heuristic-v1",
    )
    assert log.meta["opportunity_id"] == opp.id
    assert log.reasoning == body["outreach_angle"]
    assert_error(client.post("/api/crm/backlinks/999999/pitch/"), 404, "not_found")


def test_bulk_pitch_reports_each(client: TestClient, session: Session, brand: Brand) -> None:
    a = make_backlink(session, brand=brand, target_domain="a.example.org")
    b = make_backlink(session, brand=brand, target_domain="b.example.org")
    r = client.post("/api/crm/backlinks/pitch/", json={"ids": [a.id, b.id, 424242]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["pitched"], body["failed"]) == (2, 1)
    assert body["results"][2] == {
        "opportunity_id": 424242,
        "ok": False,
        "outreach_angle": "",
        "anchor_text_suggestion": "",
        "error": "no such opportunity",
    }


@pytest.fixture(scope="module")
def openai_server() -> Iterator[tuple[str, FakeOpenAI]]:
    with serve_openai() as served:
        yield served


def test_pitch_through_an_openai_format_server(
    engine: Engine, session: Session, brand: Brand, openai_server: tuple[str, FakeOpenAI]
) -> None:
    url, fake = openai_server
    fake.answers.clear()
    fake.requests.clear()
    pitch = {
        "outreach_angle": "Their tools list lacks an Australian agency; offer our guide.",
        "anchor_text_suggestion": "small business web development guide",
        "subject": "A resource for your tools list",
        "body_paragraphs": ["Hi", "Our guide", "Thanks"],
    }
    fake.reply(200, completion(json.dumps(pitch)))
    fake.reply(500, {"error": {"message": "boom", "type": "server_error", "code": None}})
    ai = build_engine(
        Settings(
            _env_file=None,
            OPENAI_API_KEY="sk-test-not-a-real-key",
            OPENAI_BASE_URL=url,
            OPENAI_TIMEOUT=5,
        )
    )
    opp = make_backlink(session, brand=brand, target_domain="tools.example.org")
    with _client(engine, ai=ai) as client:
        r = client.post(f"/api/crm/backlinks/{opp.id}/pitch/")
        assert r.status_code == 200, r.text
        assert r.json()["outreach_angle"] == pitch["outreach_angle"]
        assert r.json()["anchor_text_suggestion"] == pitch["anchor_text_suggestion"]
        # The AI failing is a 502 with nothing changed.
        assert_error(client.post(f"/api/crm/backlinks/{opp.id}/pitch/"), 502, "ai_unavailable")
    sent = json.dumps(fake.requests[0])
    assert "tools.example.org" in sent
    with Session(engine) as s:
        (log,) = s.exec(select(AIDecisionLog)).all()
        stored = s.get(BacklinkOpportunity, opp.id)
    assert (log.model, log.prompt_tokens, log.completion_tokens) == (
        "gpt-4o-mini-2024-07-18",
        321,
        54,
    )
    assert stored is not None
    assert stored.outreach_angle == pitch["outreach_angle"]


# ------------------------------------------------------------------------------- enrol
def test_enrol_creates_deals_and_skips_with_reasons(
    client: TestClient, engine: Engine, session: Session, brand: Brand
) -> None:
    pipeline = make_pipeline(
        session,
        brand=brand,
        slug="backlink",
        pipeline_type=PipelineType.backlink,
        stages=BACKLINK_STAGES,
    )
    known = make_contact(session, brand=brand, email="editor@a.example.org")
    with_contact = make_backlink(
        session, brand=brand, target_domain="a.example.org", contact_id=known.id
    )
    with_row_email = make_backlink(
        session,
        brand=brand,
        target_domain="b.example.org",
        source_data={"Contact email": "Owner@B.example.org"},
    )
    without = make_backlink(session, brand=brand, target_domain="c.example.org")
    other_brand = make_backlink(
        session, brand=make_brand(session, slug="other"), target_domain="d.example.org"
    )
    ids = [with_contact.id, with_row_email.id, without.id, other_brand.id, 777777]
    r = client.post("/api/crm/backlinks/enrol/", json={"ids": ids})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["pipeline_id"] == pipeline.id  # the brand's backlink pipeline by default
    assert [(e["opportunity_id"], e["email"]) for e in body["enrolled"]] == [
        (with_contact.id, "editor@a.example.org"),
        (with_row_email.id, "owner@b.example.org"),
    ]
    assert [(s["opportunity_id"], s["reason"]) for s in body["skipped"]] == [
        (without.id, "no_contact"),
        (other_brand.id, "brand_mismatch"),
        (777777, "unknown_opportunity"),
    ]
    assert (body["workflows_started"], body["workflows_not_started"]) == (0, 2)
    with Session(engine) as s:
        opp = s.get(BacklinkOpportunity, with_row_email.id)
        assert opp is not None
        assert opp.status == "outreaching"
        deal = s.get(Deal, opp.deal_id)
        contact = s.get(Contact, opp.contact_id)
    assert deal is not None
    assert contact is not None
    assert (contact.contact_type, contact.website) == ("backlink_target", "https://b.example.org/")
    # Enrolled again: already in an open deal. A given address for one opportunity works.
    again = client.post("/api/crm/backlinks/enrol/", json={"ids": [with_contact.id]})
    assert again.json()["skipped"][0]["reason"] == "already_enrolled"
    given = client.post(
        "/api/crm/backlinks/enrol/", json={"ids": [without.id], "contact_email": "c@c.example.org"}
    )
    assert given.status_code == 201, given.text
    assert_error(
        client.post("/api/crm/backlinks/enrol/", json={"ids": [1, 2], "contact_email": "x@y.z"}),
        422,
        "validation_error",
    )


def test_enrol_needs_a_backlink_pipeline(
    client: TestClient, session: Session, brand: Brand
) -> None:
    opp = make_backlink(session, brand=brand)
    assert_error(
        client.post("/api/crm/backlinks/enrol/", json={"ids": [opp.id]}),
        422,
        "no_backlink_pipeline",
    )


# ------------------------------------------------------------------------------ verify
def test_verify_one_then_removed_shows_in_listing(
    client: TestClient, engine: Engine, session: Session, brand: Brand, pages: Pages
) -> None:
    url = pages.set(
        "partners", "<a rel='nofollow' href='https://www.codeteki.example.com/'>Codeteki</a>"
    )
    opp = make_backlink(session, brand=brand, target_domain="127.0.0.1")
    opp.target_url = url
    session.add(opp)
    session.commit()
    r = client.post(f"/api/crm/backlinks/{opp.id}/verify/")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["check"]["link_check"] == "found"
    assert (body["check"]["anchor"], body["check"]["rel"]) == ("Codeteki", "nofollow")
    assert body["check"]["newly_found"] is True
    assert body["check"]["deal_moved"] is False
    assert (body["opportunity"]["status"], body["opportunity"]["link_rel"]) == (
        "placed",
        "nofollow",
    )
    first_verified = body["opportunity"]["verified_at"]
    assert first_verified is not None
    assert pages.user_agents == ["dealpilot-linkcheck/0.1 (+https://codeteki.example.com)"]

    pages.set("partners", "<p>We tidied up our partner list.</p>")
    gone = client.post(f"/api/crm/backlinks/{opp.id}/verify/").json()
    assert gone["check"]["link_check"] == "removed"
    assert gone["check"]["newly_removed"] is True
    assert gone["opportunity"]["verified_at"] == first_verified
    assert gone["opportunity"]["link_anchor"] == "Codeteki"  # the last anchor seen is kept
    listed = client.get("/api/crm/backlinks/?link_check=removed").json()
    assert [item["id"] for item in listed["items"]] == [opp.id]
    assert client.get("/api/crm/backlinks/?link_check=found").json()["items"] == []
    activity = client.get("/api/crm/ai-activity/").json()
    assert [(a["decision_type"], a["action_taken"]) for a in activity["items"]] == [
        ("link_check", "link_removed"),
        ("link_check", "link_found"),
    ]
    # Still gone: no second removal note.
    client.post(f"/api/crm/backlinks/{opp.id}/verify/")
    with Session(engine) as s:
        notes = s.exec(select(AIDecisionLog).where(AIDecisionLog.action_taken == "link_removed"))
        assert len(notes.all()) == 1


def test_verify_brand_checks_outreaching_and_placed(
    client: TestClient, session: Session, brand: Brand, pages: Pages
) -> None:
    ok = pages.set("ok", "<a href='https://codeteki.example.com/x'>x</a>")
    rows = {}
    for name, url, status in [
        ("found", ok, "outreaching"),
        ("error", pages.url("/status/500"), "placed"),
        ("missing", pages.set("none", "<p>nothing</p>"), "outreaching"),
        ("ignored", ok + "?again", "new"),
    ]:
        row = make_backlink(
            session, brand=brand, target_domain=f"{name}.example.org", status=status
        )
        row.target_url = url
        session.add(row)
        session.commit()
        rows[name] = row.id
    r = client.post("/api/crm/backlinks/verify/", json={"brand": "codeteki"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["checked"], body["found"], body["missing"], body["errors"]) == (3, 1, 1, 1)
    by_id = {item["opportunity_id"]: item for item in body["results"]}
    assert rows["ignored"] not in by_id
    assert by_id[rows["error"]]["error"] == "HTTP 500"
    assert_error(client.post("/api/crm/backlinks/verify/", json={"brand": "nope"}), 422)
    assert_error(client.post("/api/crm/backlinks/424242/verify/"), 404, "not_found")
