"""Each research tool's export, as the tool writes it, into BacklinkOpportunity."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dealpilot.backlinks.imports import (
    ImportReport,
    Tool,
    import_backlinks,
    normalise_target,
    relevance,
    terms,
)
from dealpilot.imports.csvfile import (
    CSVFormatError,
    ImportRequestError,
    MissingColumnsError,
    Result,
)
from models import BacklinkOpportunity, Brand
from tests.factories import make_backlink, make_brand

DATA = Path(__file__).parent / "data"
KEYWORDS = "web development, small business, startups"


def _import(
    engine: Engine, name: str, brand: Brand, keywords: str = ""
) -> tuple[ImportReport, list[BacklinkOpportunity]]:
    with Session(engine) as session, (DATA / name).open("rb") as stream:
        report = import_backlinks(session, stream, brand=brand.slug, keywords=keywords)
        session.commit()
    with Session(engine) as session:
        rows = session.exec(
            select(BacklinkOpportunity)
            .where(BacklinkOpportunity.brand_id == brand.id)
            .order_by(col(BacklinkOpportunity.id))
        ).all()
    return report, list(rows)


def _by_url(rows: list[BacklinkOpportunity]) -> dict[str, BacklinkOpportunity]:
    return {row.target_url: row for row in rows}


@pytest.fixture
def brand(any_engine: Engine) -> Brand:
    with Session(any_engine) as session:
        return make_brand(session, slug="codeteki", name="Codeteki")


def test_ahrefs_utf16_tab_backlinks_export(any_engine: Engine, brand: Brand) -> None:
    report, rows = _import(any_engine, "ahrefs_backlinks.csv", brand, keywords=KEYWORDS)
    assert report.tool == Tool.ahrefs
    assert report.counts == {
        Result.created: 3,
        Result.updated: 0,
        Result.skipped: 1,
        Result.invalid: 1,
    }
    outcomes = {row.line: (row.result, row.reason) for row in report.rows}
    assert outcomes[3] == (Result.skipped, "duplicate of line 2")
    assert outcomes[6] == (Result.invalid, "no URL")
    found = _by_url(rows)
    assert set(found) == {
        "https://devblog.example.org/best-web-dev-tools",
        "https://www.startups.example.net/resources/",
        "https://fr.example.fr/guide-dev?ref=nav",
    }
    dev = found["https://devblog.example.org/best-web-dev-tools"]
    assert (dev.target_domain, dev.domain_authority, dev.source) == (
        "devblog.example.org",
        62,
        "ahrefs",
    )
    # "web", "development" (via "dev"? no: the title), "small", "business" -> capped at 100
    assert dev.relevance_score == 100
    assert dev.source_data["Referring page title"].startswith("Best web development tools")
    assert dev.source_data["Target URL"] == "https://competitor-a.example.com/tools"
    assert dev.source_data["UR"] == "18"
    assert "Referring page URL" not in dev.source_data  # it is the target_url itself
    startup = found["https://www.startups.example.net/resources/"]
    assert (startup.target_domain, startup.domain_authority) == ("startups.example.net", 48)
    assert startup.relevance_score == 33  # "startup" only
    french = found["https://fr.example.fr/guide-dev?ref=nav"]
    assert french.source_data["Referring page title"] == "Développement web : le guide complet"
    assert french.relevance_score == 33  # "web"


def test_semrush_backlinks_export(any_engine: Engine, brand: Brand) -> None:
    report, rows = _import(any_engine, "semrush_backlinks.csv", brand, keywords=KEYWORDS)
    assert report.tool == Tool.semrush
    assert report.counts[Result.created] == 3
    (bad,) = [row for row in report.rows if row.result == Result.invalid]
    assert bad.line == 5
    assert bad.reason.startswith("not a web page URL")
    found = _by_url(rows)
    guide = found["https://smallbiz.example.com/guides/web-development"]
    assert (guide.domain_authority, guide.relevance_score, guide.source) == (41, 100, "semrush")
    assert guide.source_data["Source title"] == (
        "Small business web development, hosting and SEO: a guide"
    )
    forum = found["https://forum.example.io/t/which-agency/1182"]
    assert forum.source_data["Source title"] == 'Startup founders forum - "Which agency?" thread'
    assert forum.source_data["Nofollow"] == "true"
    assert found["http://cooking.example.org/weekend"].relevance_score == 0


def test_semrush_backlink_gap_export_is_domain_level(any_engine: Engine, brand: Brand) -> None:
    report, rows = _import(any_engine, "semrush_backlink_gap.csv", brand)
    assert report.tool == Tool.semrush
    found = _by_url(rows)
    assert set(found) == {
        "https://webdevweekly.example.com/",
        "https://startupdaily.example.net/",
        "https://localbusinessdirectory.example.org/",
    }
    weekly = found["https://webdevweekly.example.com/"]
    assert (weekly.target_domain, weekly.domain_authority) == ("webdevweekly.example.com", 58)
    assert weekly.source_data["competitor-a.example.com"] == "14"


def test_ubersuggest_backlinks_export(any_engine: Engine, brand: Brand) -> None:
    report, rows = _import(any_engine, "ubersuggest_backlinks.csv", brand, keywords=KEYWORDS)
    assert report.tool == Tool.ubersuggest
    assert report.counts[Result.created] == 3
    found = _by_url(rows)
    reviews = found["https://reviews.example.com/top-web-development-companies"]
    assert (reviews.domain_authority, reviews.source) == (57, "ubersuggest")
    assert reviews.relevance_score == 100  # web, development, startups
    assert reviews.source_data["Page Authority"] == "31"
    assert reviews.source_data["Link Type"] == "Follow"
    # A URL without a scheme is taken as https.
    assert "https://partners.example.co/links" in found


def test_brand_name_is_the_topic_without_keywords(any_engine: Engine, brand: Brand) -> None:
    assert terms("Codeteki codeteki") == {"codeteki"}
    assert relevance({"codeteki"}, "A review of Codeteki's services") == 100
    assert relevance({"codeteki"}, "nothing here") == 0


def test_reimport_updates_metrics_never_duplicates(any_engine: Engine, brand: Brand) -> None:
    first, rows = _import(any_engine, "semrush_backlinks.csv", brand)
    ids = {row.target_url: row.id for row in rows}
    again, rows_again = _import(any_engine, "semrush_backlinks.csv", brand)
    assert again.counts[Result.created] == 0
    assert again.counts[Result.skipped] == 3  # unchanged
    assert {r.target_url: r.id for r in rows_again} == ids
    # Same pages, new metrics and keywords: updated in place.
    text = (DATA / "semrush_backlinks.csv").read_text().replace('"41",', '"45",', 1)
    with Session(any_engine) as session:
        report = import_backlinks(
            session, io.BytesIO(text.encode()), brand="codeteki", keywords=KEYWORDS
        )
        session.commit()
    updated = {row.target_url: row.reason for row in report.rows if row.result == Result.updated}
    assert updated["https://smallbiz.example.com/guides/web-development"] == (
        "updated domain_authority, relevance_score, source_data"
    )
    with Session(any_engine) as session:
        count = len(session.exec(select(BacklinkOpportunity)).all())
        guide = session.get(
            BacklinkOpportunity, ids["https://smallbiz.example.com/guides/web-development"]
        )
    assert count == 3
    assert guide is not None
    assert (guide.domain_authority, guide.relevance_score) == (45, 100)


def test_other_brand_is_untouched(any_engine: Engine, brand: Brand) -> None:
    with Session(any_engine) as session:
        other = make_brand(session, slug="desifirms")
        theirs = make_backlink(
            session, brand=other, target_domain="smallbiz.example.com", domain_authority=1
        )
        theirs.target_url = "https://smallbiz.example.com/guides/web-development"
        session.add(theirs)
        session.commit()
        theirs_id = theirs.id
    report, _ = _import(any_engine, "semrush_backlinks.csv", brand)
    assert report.counts[Result.created] == 3
    with Session(any_engine) as session:
        again = session.get(BacklinkOpportunity, theirs_id)
    assert again is not None
    assert again.domain_authority == 1


def _bad_file(rows_before: int) -> bytes:
    header = (DATA / "semrush_backlinks.csv").read_text().splitlines()[0]
    lines = [header] + [
        f'"30","Page {n}","https://site{n}.example.com/page","https://c.example.com/","a","1","1",'
        '"false","false","false","true","false","false","false","false","2026-01-01","2026-11-01",'
        '"false","false"'
        for n in range(rows_before)
    ]
    return ("\n".join(lines) + "\n").encode() + b'"30","Caf\xe9 page","https://x.example.com/"\n'


def test_bad_file_writes_nothing(any_engine: Engine, brand: Brand) -> None:
    # 1,200 good rows (two batches flushed) before a byte that is not UTF-8.
    with Session(any_engine) as session:
        with pytest.raises(CSVFormatError) as caught:
            import_backlinks(session, io.BytesIO(_bad_file(1200)), brand="codeteki")
        session.rollback()
    assert caught.value.line == 1202
    with Session(any_engine) as session:
        assert session.exec(select(BacklinkOpportunity)).all() == []


def test_unknown_export_and_missing_url_column(any_engine: Engine, brand: Brand) -> None:
    with Session(any_engine) as session:
        with pytest.raises(CSVFormatError, match="not an Ahrefs, Semrush or Ubersuggest"):
            import_backlinks(session, io.BytesIO(b"name,email\nA,a@x.com\n"), brand="codeteki")
        with pytest.raises(MissingColumnsError):
            import_backlinks(session, io.BytesIO(b"Domain rating,Anchor\n50,x\n"), brand="codeteki")
        with pytest.raises(ImportRequestError) as tool:
            import_backlinks(session, io.BytesIO(b"x\n"), brand="codeteki", tool="moz")
        assert tool.value.code == "unknown_tool"
        with pytest.raises(ImportRequestError) as unknown:
            import_backlinks(session, io.BytesIO(b"x\n"), brand="nope")
        assert unknown.value.code == "unknown_brand"


def test_explicit_tool_overrides_detection(any_engine: Engine, brand: Brand) -> None:
    data = b"Source URL,Anchor Text\nhttps://a.example.com/x,hello\n"
    with Session(any_engine) as session:
        report = import_backlinks(session, io.BytesIO(data), brand="codeteki", tool="Ubersuggest")
    assert report.tool == Tool.ubersuggest
    assert report.counts[Result.created] == 1


def test_normalise_target() -> None:
    assert normalise_target("HTTPS://Example.COM/Path#frag") == "https://example.com/Path"
    assert normalise_target("example.com") == "https://example.com/"
    assert normalise_target("mailto:a@b.c") is None
    assert normalise_target("localhost/x") is None


@pytest.mark.parametrize(
    ("data", "tool", "authority"),
    [
        # Ahrefs Site Explorer -> Referring domains (UTF-16, tabs).
        (
            "\ufeffDomain\tDomain rating\tDofollow ref. domains\tDofollow linked domains\t"
            "Traffic\n www.devnews.example.com \t71\t5400\t880\t120000\n".encode("utf-16-le"),
            Tool.ahrefs,
            71,
        ),
        # Ubersuggest Backlink Opportunity re-saved by a European Excel: semicolons, "64%".
        (
            b"Domain;Domain Authority;Links to competitors\ndevnews.example.com;64%;3\n",
            Tool.ubersuggest,
            64,
        ),
    ],
)
def test_domain_level_exports(
    any_engine: Engine, brand: Brand, data: bytes, tool: Tool, authority: int
) -> None:
    with Session(any_engine) as session:
        report = import_backlinks(session, io.BytesIO(data), brand="codeteki")
        session.commit()
    assert report.tool == tool
    (row,) = _by_url(_import_rows(any_engine, brand)).values()
    assert row.target_domain == "devnews.example.com"
    assert row.target_url in {"https://www.devnews.example.com/", "https://devnews.example.com/"}
    assert row.domain_authority == authority


def _import_rows(engine: Engine, brand: Brand) -> list[BacklinkOpportunity]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(BacklinkOpportunity).where(BacklinkOpportunity.brand_id == brand.id)
            ).all()
        )
