"""The backlinks page: pasted and CSV imports, AI pitches and enrolment through the REST
API's domain code, each for the user's brands only (another brand's opportunity is a 404)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models import BacklinkOpportunity, BacklinkStatus, Brand, Deal, Pipeline, PipelineType
from tests.console.helpers import DESI_OPERATOR, login, token
from tests.factories import make_backlink

AHREFS = (
    "Referring page title,Referring page URL,Domain rating,Anchor\n"
    "Melbourne property guide,https://homes-blog.example.com.au/guide,41,agents\n"
    "Broken,not a url,12,x\n"
)


def _brands(engine: Engine) -> tuple[Brand, Brand]:
    with Session(engine) as s:
        desi = s.exec(select(Brand).where(Brand.slug == "desifirms")).one()
        codeteki = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        return desi, codeteki


def test_pasted_and_exported_opportunities_are_pitched_and_enrolled(
    browser: TestClient, engine: Engine
) -> None:
    _, codeteki = _brands(engine)
    login(browser, DESI_OPERATOR)
    csrf = token(browser, "/console/backlinks")
    pasted = browser.post(
        "/console/backlinks/paste",
        data={
            "csrf_token": csrf,
            "brand": "desifirms",
            "urls": "https://Realty-News.example.org/top-agents#x\nrealty-news.example.org/"
            "top-agents\nmailto:someone@example.org",
        },
    )
    assert "1 created, 1 skipped, 1 invalid" in pasted.text
    assert "realty-news.example.org/top-agents" in pasted.text
    exported = browser.post(
        "/console/backlinks/import",
        data={"csrf_token": csrf, "brand": "desifirms"},
        files={"file": ("ahrefs.csv", AHREFS.encode(), "text/csv")},
    )
    assert "Imported from ahrefs for desifirms: 1 created, 1 invalid" in exported.text
    broken = browser.post(
        "/console/backlinks/import",
        data={"csrf_token": csrf, "brand": "desifirms"},
        files={"file": ("x.csv", b"Name,Phone\nA,1\n", "text/csv")},
    )
    assert "Nothing imported:" in broken.text
    with Session(engine) as s:
        rows = s.exec(select(BacklinkOpportunity).order_by(col(BacklinkOpportunity.id))).all()
        assert [r.target_domain for r in rows] == [
            "realty-news.example.org",
            "homes-blog.example.com.au",
        ]
        ids = [r.id or 0 for r in rows]
    pitched = browser.post("/console/backlinks/pitch", data={"csrf_token": csrf, "ids": ids})
    assert "Pitched 2 of 2 opportunities." in pitched.text
    enrolled = browser.post(
        "/console/backlinks/enrol",
        data={"csrf_token": csrf, "ids": [ids[0]], "contact_email": "editor@realty-news.org"},
    )
    assert "Enrolled 1 (0 workflows started); skipped 0." in enrolled.text  # no Temporal here
    assert "saved without a workflow" in enrolled.text
    with Session(engine) as s:
        first = s.get(BacklinkOpportunity, ids[0])
        assert first is not None
        assert first.status == BacklinkStatus.outreaching
        assert first.outreach_angle
        deal = s.get(Deal, first.deal_id)
        assert deal is not None
        pipeline = s.get(Pipeline, deal.pipeline_id)
        assert pipeline is not None
        assert pipeline.pipeline_type == PipelineType.backlink
    again = browser.post("/console/backlinks/enrol", data={"csrf_token": csrf, "ids": [ids[0]]})
    assert "already in open deal" in again.text
    # Another brand's opportunity or brand: 404, nothing done; no token: 403.
    with Session(engine) as s:
        theirs = make_backlink(s, brand=codeteki, target_domain="tech.example.org").id or 0
    for path, data in (
        ("/console/backlinks/pitch", {"ids": [theirs]}),
        ("/console/backlinks/enrol", {"ids": [ids[1], theirs]}),
        ("/console/backlinks/paste", {"brand": "codeteki", "urls": "https://a.example.org/"}),
    ):
        assert browser.post(path, data={"csrf_token": csrf, **data}).status_code == 404
    refused = browser.post("/console/backlinks/pitch", data={"ids": [ids[1]]})
    assert refused.status_code == 403
    with Session(engine) as s:
        assert s.get(BacklinkOpportunity, theirs).outreach_angle == ""  # type: ignore[union-attr]
        assert s.get(BacklinkOpportunity, ids[1]).deal_id is None  # type: ignore[union-attr]
