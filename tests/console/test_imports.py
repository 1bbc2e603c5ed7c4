"""CSV import in the console: a job with progress, the per-row report, brand scoping."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from models import Brand, Contact
from tests.console.helpers import DESI_OPERATOR, login, token
from tests.waiting import wait_until

CSV = (
    "Email,First Name,Last Name,Company\n"
    "priya@sharma-realty.com.au,Priya,Sharma,Sharma Realty\n"
    "raj@kumar-homes.com.au,Raj,Kumar,Kumar Homes\n"
    "priya@sharma-realty.com.au,Priya,Again,Dup\n"
    'not-an-address,Bad,Row,=HYPERLINK("x")\n'
)


def test_an_import_reports_progress_and_every_row(browser: TestClient, engine: Engine) -> None:
    login(browser, DESI_OPERATOR)
    csrf = token(browser, "/console/imports/")
    other = browser.post(
        "/console/imports/",
        data={"csrf_token": csrf, "brand": "codeteki"},
        files={"file": ("c.csv", CSV.encode(), "text/csv")},
    )
    assert other.status_code == 404
    started = browser.post(
        "/console/imports/",
        data={"csrf_token": csrf, "brand": "desifirms"},
        files={"file": ("agents.csv", CSV.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert started.status_code == 303
    job = started.headers["location"]

    def finished() -> bool:
        return bool(browser.get(f"{job}/progress").json()["done"])

    wait_until(finished, timeout=30, interval=0.1, what="the import")
    progress = browser.get(f"{job}/progress").json()
    assert progress["read"] == progress["total"]
    assert progress["counts"] == {"created": 2, "updated": 0, "skipped": 1, "invalid": 1}
    page = browser.get(job).text
    assert "Done." in page
    assert "created: 2" in page
    report = browser.get(f"{job}/report.csv").text.splitlines()
    assert report[0] == "line,email,result,reason,contact_id"
    assert len(report) == 5
    with Session(engine) as s:
        desi = s.exec(select(Brand).where(Brand.slug == "desifirms")).one()
        emails = set(s.exec(select(Contact.email).where(Contact.brand_id == desi.id)).all())
    assert emails == {"priya@sharma-realty.com.au", "raj@kumar-homes.com.au"}
    # Another user cannot follow someone else's import.
    browser.cookies.clear()
    login(browser, "admin@codeteki.com.au")
    assert browser.get(job).status_code == 404
