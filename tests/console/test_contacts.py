"""Contacts and suppressions in the console: brand scoping, search, paging, manual
suppressions only removable."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from models import Brand, Suppression, SuppressionReason
from tests.console.data import two_brands
from tests.console.helpers import ADMIN, DESI_OPERATOR, login, token
from tests.factories import make_backlink, make_contact


def test_contacts_are_scoped_searchable_and_paged(browser: TestClient, engine: Engine) -> None:
    two_brands(engine)
    with Session(engine) as s:
        desi = s.exec(select(Brand).where(Brand.slug == "desifirms")).one()
        for i in range(55):
            make_contact(s, brand=desi, email=f"agent{i:02}@homes.com.au", company="Homes")
    login(browser, DESI_OPERATOR)
    listing = browser.get("/console/contacts").text
    assert "1–50 of 56" in listing
    assert "cto@secret-client.com" not in listing
    second = browser.get("/console/contacts?offset=50").text
    assert "51–56 of 56" in second
    found = browser.get("/console/contacts?q=agent07").text
    assert "1–1 of 1" in found
    literal = browser.get("/console/contacts?q=agent0_").text  # _ is no wildcard
    assert "No contact matches." in literal
    assert "cto@secret-client.com" not in browser.get("/console/contacts?q=secret").text


def test_a_contact_page_shows_deals_and_suppression(browser: TestClient, engine: Engine) -> None:
    two_brands(engine)
    with Session(engine) as s:
        ct = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        contact_id = make_contact(s, brand=ct, email="x@codeteki-client.com").id
    login(browser, DESI_OPERATOR)
    assert browser.get(f"/console/contacts/{contact_id}").status_code == 404
    browser.cookies.clear()
    login(browser, ADMIN)
    page = browser.get(f"/console/contacts/{contact_id}").text
    assert "x@codeteki-client.com" in page
    assert "No email yet." in page


def test_manual_suppressions_are_added_and_removed(browser: TestClient, engine: Engine) -> None:
    two_brands(engine)
    with Session(engine) as s:
        desi = s.exec(select(Brand).where(Brand.slug == "desifirms")).one()
        s.add(
            Suppression(
                brand_id=desi.id or 0,
                email="gone@example.com",
                reason=SuppressionReason.unsubscribed,
            )
        )
        s.commit()
    login(browser, DESI_OPERATOR)
    csrf = token(browser)
    other = browser.post(
        "/console/suppressions",
        data={"csrf_token": csrf, "brand": "codeteki", "email": "a@example.com"},
    )
    assert "Not suppressed: Brand codeteki not found" in other.text
    added = browser.post(
        "/console/suppressions",
        data={
            "csrf_token": csrf,
            "brand": "desifirms",
            "email": "Stop@Example.com",
            "detail": "asked by phone",
        },
    )
    assert "stop@example.com is suppressed for desifirms" in added.text
    assert "manual: asked by phone" in added.text
    twice = browser.post(
        "/console/suppressions",
        data={"csrf_token": csrf, "brand": "desifirms", "email": "stop@example.com"},
    )
    assert "already suppressed" in twice.text
    with Session(engine) as s:
        rows = {r.email: r.id for r in s.exec(select(Suppression)).all()}
    kept = browser.post(
        f"/console/suppressions/{rows['gone@example.com']}/remove", data={"csrf_token": csrf}
    )
    assert kept.status_code == 409
    removed = browser.post(
        f"/console/suppressions/{rows['stop@example.com']}/remove", data={"csrf_token": csrf}
    )
    assert "stop@example.com may be emailed again." in removed.text
    with Session(engine) as s:
        assert {r.email for r in s.exec(select(Suppression)).all()} == {"gone@example.com"}


def test_backlinks_are_listed_for_the_users_brands(browser: TestClient, engine: Engine) -> None:
    with Session(engine) as s:
        desi = s.exec(select(Brand).where(Brand.slug == "desifirms")).one()
        codeteki = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        make_backlink(s, brand=desi, target_domain="desi-blog.example.org")
        make_backlink(s, brand=codeteki, target_domain="tech-blog.example.org")
    login(browser, DESI_OPERATOR)
    page = browser.get("/console/backlinks").text
    assert "desi-blog.example.org" in page
    assert "tech-blog.example.org" not in page
    assert "never" in page  # not checked yet
    assert "desi-blog" not in browser.get("/console/backlinks?status=placed").text
