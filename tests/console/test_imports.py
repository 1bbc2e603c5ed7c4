"""CSV import in the console: a job with progress, the per-row report, brand scoping."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api import create_app
from dealpilot.core.settings import Settings
from models import Brand, Contact, ImportJob, User, utcnow
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


def test_an_import_outlives_the_api_process_that_ran_it(
    browser: TestClient, engine: Engine
) -> None:
    """The job is a row: another app on the same database (a restarted API, or another
    replica) shows its progress and report; a job whose process died says so."""
    login(browser, DESI_OPERATOR)
    csrf = token(browser, "/console/imports/")
    started = browser.post(
        "/console/imports/",
        data={"csrf_token": csrf, "brand": "desifirms"},
        files={"file": ("agents.csv", CSV.encode(), "text/csv")},
        follow_redirects=False,
    )
    job = started.headers["location"]
    wait_until(
        lambda: bool(browser.get(f"{job}/progress").json()["done"]),
        timeout=30,
        interval=0.1,
        what="the import",
    )
    report = browser.get(f"{job}/report.csv").text
    other = create_app(engine=engine, api_keys={"k"}, settings=Settings(DEALPILOT_ENV="test"))
    with TestClient(other) as replica:
        login(replica, DESI_OPERATOR)
        assert replica.get(f"{job}/progress").json()["counts"]["created"] == 2
        assert replica.get(f"{job}/report.csv").text == report
        assert "Done." in replica.get(job).text
        with Session(engine) as s:
            user_id = s.exec(select(User.id).where(User.email == DESI_OPERATOR)).one()
            desi = s.exec(select(Brand).where(Brand.slug == "desifirms")).one()
            s.add(
                ImportJob(
                    id="died-mid-way",
                    user_id=user_id or 0,
                    brand_id=desi.id or 0,
                    filename="big.csv",
                    total=5000,
                    read=1500,
                    updated_at=utcnow() - timedelta(hours=1),
                )
            )
            s.commit()
        died = replica.get("/console/imports/died-mid-way").text
        assert "This import stopped" in died
        assert replica.get("/console/imports/died-mid-way/progress").json()["stale"] is True
