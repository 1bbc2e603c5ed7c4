"""The analytics page over HTTP: the known history's figures and charts for an admin, CSV
downloads, stage probabilities edited in the settings, brand isolation for an operator of one
brand, and bad filters as 4xx pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from models import PipelineStage
from tests.analytics.history import History, build
from tests.console.helpers import ADMIN, DESI_OPERATOR, login, token

MARCH = "from=2026-03-01&to=2026-03-31"


def history(engine: Engine) -> History:
    with Session(engine, expire_on_commit=False) as s:
        return build(s)


def test_the_page_shows_the_figures_and_charts(browser: TestClient, engine: Engine) -> None:
    h = history(engine)
    login(browser, ADMIN)
    assert 'href="/console/analytics"' in browser.get("/console/").text  # in the nav
    page = browser.get(f"/console/analytics?{MARCH}&pipeline={h.sales.id}")
    assert page.status_code == 200
    html = page.text
    assert 'id="emails-sent">7<' in html
    assert 'id="forecast">212.50<' in html
    assert 'id="won-value">1000.00<' in html
    # Funnel: the stages' reach and the median stay in Invited.
    funnel = html.split('<table class="funnel"')[1].split("</table>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', funnel) == ["5", "2", "2", "1", "2"]
    assert "36.0 h" in funnel
    # Three kinds of chart, inline SVG without any inline style (the CSP forbids it).
    assert html.count('<svg class="chart"') == 3
    assert 'aria-label="Funnel of Sales"' in html
    assert "Invited: 5 deals reached it, 40% went on" in html
    assert "engaged 2 (40%)" in html
    assert "style=" not in html
    assert "<script>" not in html
    assert "default-src 'self'" in page.headers["content-security-policy"]
    # A/B: the invited stage's test and the decided one.
    assert "On replied: A leads, confidence 29.1% (z -0.3727, p 0.7094)" in html
    assert "promoted B" in html
    assert "promoted A" not in html
    # Every table has its CSV link, carrying the filters.
    assert (
        f"/console/analytics/emails.csv?from=2026-03-01&amp;to=2026-03-31&amp;pipeline={h.sales.id}&amp;table=by_variant"
        in html
    )


def test_csv_download(browser: TestClient, engine: Engine) -> None:
    h = history(engine)
    login(browser, ADMIN)
    r = browser.get(
        f"/console/analytics/engagement.csv?{MARCH}&pipeline={h.sales.id}&table=decisions"
    )
    assert r.status_code == 200
    assert r.headers["content-disposition"] == (
        'attachment; filename="engagement-decisions-2026-03-01-2026-03-31.csv"'
    )
    lines = r.text.splitlines()
    assert lines[0] == "day,ghost,burnout,change_approach"
    assert len(lines) == 32
    assert "2026-03-05,0,1,1" in lines
    assert "2026-03-07,1,0,0" in lines
    by_stage = browser.get(f"/console/analytics/emails.csv?{MARCH}&brand=codeteki&table=by_stage")
    rows = [line.split(",")[:12] for line in by_stage.text.splitlines()[1:]]
    assert rows == [
        [
            str(h.stages["invited"].id),
            "Sales · Invited",
            "5",
            "4",
            "2",
            "1",
            "1",
            "2",
            "1",
            "1",
            "0",
            "1",
        ],
        [
            str(h.stages["follow-up-1"].id),
            "Sales · Follow-up 1",
            "2",
            "2",
            "1",
            "1",
            "0",
            "0",
            "0",
            "0",
            "1",
            "0",
        ],
    ]
    assert browser.get(f"/console/analytics/nothing.csv?{MARCH}").status_code == 404


def test_probabilities_edited_in_stage_settings(browser: TestClient, engine: Engine) -> None:
    h = history(engine)
    login(browser, ADMIN)
    settings = browser.get(f"/console/settings/pipelines/{h.sales.id}").text
    assert 'name="probability"' in settings
    assert 'placeholder="5"' in settings
    invited = h.stages["invited"]
    answer = browser.post(
        f"/console/settings/stages/{invited.id}",
        data={
            "csrf_token": token(browser),
            "probability": "20",
            "subject": invited.subject,
            "subject_variant_b": invited.subject_variant_b,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    with Session(engine) as s:
        row = s.get(PipelineStage, invited.id)
        assert row is not None
        assert str(row.probability) == "0.200"
    # The forecast follows: Invited's open 250.00 now counts 20% (50.00) + Responded 200.00.
    page = browser.get(f"/console/analytics?{MARCH}&pipeline={h.sales.id}").text
    assert 'id="forecast">250.00<' in page
    bad = browser.post(
        f"/console/settings/stages/{invited.id}",
        data={"csrf_token": token(browser), "probability": "150"},
    )
    assert "Not saved" in bad.text
    value = browser.post(
        f"/console/settings/pipelines/{h.sales.id}",
        data={"csrf_token": token(browser), "default_deal_value": "300"},
    )
    assert "default deal value is saved" in value.text
    assert 'value="300.00"' in value.text


def test_an_operator_sees_only_their_brands(browser: TestClient, engine: Engine) -> None:
    h = history(engine)
    login(browser, DESI_OPERATOR)
    html = browser.get(f"/console/analytics?{MARCH}").text
    assert 'id="emails-sent">1<' in html  # Desi Firms' one email, not Codeteki's seven
    assert "Sales" not in html.split('id="h-funnel"')[1]
    assert "promoted A" in html
    assert "promoted B" not in html
    assert '<option value="codeteki"' not in html
    for path in (
        f"/console/analytics?{MARCH}&brand=codeteki",
        f"/console/analytics?{MARCH}&pipeline={h.sales.id}",
        f"/console/analytics/emails.csv?{MARCH}&brand=codeteki",
        f"/console/analytics/funnel.csv?{MARCH}&pipeline={h.sales.id}",
    ):
        assert browser.get(path).status_code == 404, path
    rows = browser.get(f"/console/analytics/emails.csv?{MARCH}&table=by_brand").text.splitlines()
    assert [r.split(",")[:3] for r in rows[1:]] == [[str(h.other.id), "desifirms", "1"]]


def test_bad_filters_are_4xx_pages(browser: TestClient, engine: Engine) -> None:
    login(browser, ADMIN)
    for query, status in (
        ("from=2026-02-30", 422),
        ("from=2026-03-10&to=2026-03-01", 422),
        ("brand=nope", 404),
        ("pipeline=abc", 422),
        ("pipeline=999999", 404),
    ):
        answer = browser.get(f"/console/analytics?{query}")
        assert answer.status_code == status, query
        assert "<h1" in answer.text  # the console's error page, not a traceback
    assert browser.get("/console/analytics/emails.csv?from=x").status_code == 422
