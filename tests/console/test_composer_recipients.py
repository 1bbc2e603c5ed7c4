"""The composer's recipients in the console without Temporal: contacts found by search,
saved filters (saved, reused, another user's a 404) and the live preview of unsaved text."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from models import Brand, EmailDraft, SavedFilter
from tests.console.helpers import ADMIN, DESI_OPERATOR, login, token
from tests.factories import make_contact


def test_recipients_by_search_and_saved_filter_with_a_live_preview(
    browser: TestClient, engine: Engine
) -> None:
    with Session(engine) as s:
        desi = s.exec(select(Brand).where(Brand.slug == "desifirms")).one()
        codeteki = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        priya = make_contact(s, brand=desi, email="priya@sharma-realty.com.au", name="Priya Sharma")
        make_contact(s, brand=codeteki, email="priya@codeteki-client.com", name="Priya Other")
        priya_id = priya.id or 0
    login(browser, ADMIN)
    admins = browser.post(
        "/console/composer/filters",
        data={
            "csrf_token": token(browser, "/console/composer/"),
            "brand": "desifirms",
            "name": "Admin's",
            "q": "realty",
        },
    )
    assert "is saved" in admins.text
    browser.cookies.clear()
    login(browser, DESI_OPERATOR)
    csrf = token(browser, "/console/composer/")
    found = browser.get("/console/composer/?target=desifirms/real_estate&q=priya").text
    assert f'name="contact_ids" value="{priya_id}"' in found
    assert "priya@codeteki-client.com" not in found
    assert (
        "priya@codeteki-client.com"
        not in browser.get("/console/composer/?target=codeteki/sales&q=priya").text
    )
    saved = browser.post(
        "/console/composer/filters",
        data={"csrf_token": csrf, "brand": "desifirms", "name": "Sharma agents", "q": "sharma"},
    )
    assert "Filter &#39;Sharma agents&#39; is saved" in saved.text
    assert "Admin&#39;s" not in saved.text  # another user's filters are not listed
    twice = browser.post(
        "/console/composer/filters",
        data={"csrf_token": csrf, "brand": "desifirms", "name": "Sharma agents", "q": "x"},
    )
    assert "Not saved: You already have a filter named" in twice.text
    empty = browser.post(
        "/console/composer/filters", data={"csrf_token": csrf, "brand": "desifirms", "name": "e"}
    )
    assert "Not saved:" in empty.text
    assert (
        browser.post(
            "/console/composer/filters",
            data={"csrf_token": csrf, "brand": "codeteki", "name": "n", "q": "x"},
        ).status_code
        == 404
    )
    assert browser.post("/console/composer/filters", data={"brand": "desifirms"}).status_code == 403
    with Session(engine) as s:
        mine = s.exec(select(SavedFilter).where(SavedFilter.name == "Sharma agents")).one()
        theirs = s.exec(select(SavedFilter).where(SavedFilter.name == "Admin's")).one()
    form = {
        "csrf_token": csrf,
        "target": "desifirms/real_estate",
        "email_type": "intro",
        "tone": "friendly",
        "by_hand": "true",
        "subject": "Listings for {{ contact.first_name }}",
        "body": "Hi {{ contact.first_name }}, we list properties for free this month.",
    }
    refused = browser.post("/console/composer/", data=form | {"filter_id": theirs.id})
    assert "Not drafted: Saved filter" in refused.text
    page = browser.post(
        "/console/composer/", data=form | {"contact_ids": [priya_id], "filter_id": mine.id}
    )
    assert "is ready" in page.text
    assert "And everyone matching the saved filter" in page.text
    with Session(engine) as s:
        draft = s.exec(select(EmailDraft)).one()
        assert draft.recipients == ["Priya Sharma <priya@sharma-realty.com.au>"]
        assert draft.recipient_filter is not None
        assert draft.recipient_filter["q"] == "sharma"
    json = {"Accept": "application/json"}
    live = browser.post(
        f"/console/composer/{draft.id}/preview",
        data={"csrf_token": csrf, "subject": "New for {{ contact.first_name }}", "body": "Hi"},
        headers=json,
    )
    assert live.json()["subject"] == "New for Priya"
    broken = browser.post(
        f"/console/composer/{draft.id}/preview",
        data={"csrf_token": csrf, "subject": "{{ oops", "body": "Hi"},
        headers=json,
    )
    assert broken.status_code == 422
    assert broken.json()["ok"] is False
    delete = f"/console/composer/filters/{theirs.id}/delete"
    assert browser.post(delete, data={"csrf_token": csrf}).status_code == 404
