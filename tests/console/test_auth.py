"""Signing in and out, sessions, CSRF, throttling, password changes."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api import create_app
from dealpilot.core.settings import Settings
from tests.console.helpers import ADMIN, DESI_OPERATOR, PASSWORD, csrf_of, login, token


def test_pages_need_a_signed_in_user(browser: TestClient) -> None:
    for page in ("/console/", "/console/board", "/console/deals/1", "/console/password"):
        answer = browser.get(page, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login?next=")


def test_login_then_today_then_logout(browser: TestClient) -> None:
    answer = login(browser, ADMIN)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/"
    today = browser.get("/console/")
    assert today.status_code == 200
    assert "Today" in today.text
    assert ADMIN in today.text
    out = browser.post("/console/logout", data={"csrf_token": csrf_of(today.text)})
    assert out.status_code == 200  # followed to the login page
    assert "You are signed out." in out.text
    assert browser.get("/console/", follow_redirects=False).status_code == 303


def test_wrong_password_and_unknown_user_read_the_same(browser: TestClient) -> None:
    wrong = login(browser, ADMIN, "not-the-password")
    unknown = login(browser, "nobody@example.com", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "The email or the password is not right." in wrong.text
    assert "The email or the password is not right." in unknown.text


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(browser: TestClient) -> None:
    form = csrf_of(browser.get("/console/login").text)
    data = {"email": ADMIN, "password": PASSWORD, "csrf_token": form, "next": "/console/board"}
    assert (
        browser.post("/console/login", data=data, follow_redirects=False).headers["location"]
        == "/console/board"
    )
    for evil in ("//evil.example/", "https://evil.example/", "/console/\\\\evil.example"):
        form = token(browser, "/console/login")
        data = {"email": ADMIN, "password": PASSWORD, "csrf_token": form, "next": evil}
        answer = browser.post("/console/login", data=data, follow_redirects=False)
        assert answer.headers["location"] == "/console/"


def test_session_cookie_flags(browser: TestClient, engine: Engine) -> None:
    cookie = login(browser, ADMIN).headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http in development and tests

    production = Settings(
        DEALPILOT_ENV="production",
        DEALPILOT_API_KEYS="k-prod-1",
        TRACKING_SECRET="t-prod-secret-1",
        DEALPILOT_SESSION_SECRET="s-prod-secret-1",
        PUBLIC_BASE_URL="https://crm.codeteki.au",
    )
    app = create_app(engine=engine, api_keys={"k-prod-1"}, settings=production)
    with TestClient(app, base_url="https://console.test") as client:
        assert "; Secure" in login(client, ADMIN).headers["set-cookie"]


def test_a_forged_or_foreign_cookie_is_no_session(browser: TestClient, engine: Engine) -> None:
    login(browser, ADMIN)
    other = Settings(DEALPILOT_ENV="test", DEALPILOT_SESSION_SECRET="another-key-9f2")
    app = create_app(engine=engine, api_keys={"k"}, settings=other)
    with TestClient(app) as client:
        client.cookies.set("dealpilot_console", browser.cookies["dealpilot_console"])
        assert client.get("/console/", follow_redirects=False).status_code == 303
    browser.cookies.clear()
    browser.cookies.set("dealpilot_console", "eyJ1IjoxLCJ2IjoxfQ.forged.signature")
    assert browser.get("/console/", follow_redirects=False).status_code == 303


def test_state_changing_requests_need_the_csrf_token(browser: TestClient) -> None:
    login(browser, ADMIN)
    good = token(browser)
    for data, headers in [
        ({}, {}),
        ({"csrf_token": "not-the-token"}, {}),
        ({}, {"X-CSRF-Token": "not-the-token"}),
    ]:
        answer = browser.post("/console/logout", data=data, headers=headers)
        assert answer.status_code == 403
        assert "This form has expired" in answer.text
    # Still signed in: nothing happened.
    assert browser.get("/console/", follow_redirects=False).status_code == 200
    # The login form itself is protected too (login CSRF).
    fresh = browser.post("/console/login", data={"email": ADMIN, "password": PASSWORD})
    assert fresh.status_code == 403
    assert browser.post("/console/logout", headers={"X-CSRF-Token": good}).status_code == 200


def test_logins_are_throttled_after_repeated_failures(browser: TestClient) -> None:
    for _ in range(5):
        assert login(browser, DESI_OPERATOR, "guess-guess-guess").status_code == 401
    blocked = login(browser, DESI_OPERATOR)  # even the right password, for now
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.text


def test_password_change_signs_out_other_sessions(console_app: FastAPI) -> None:
    with TestClient(console_app) as first, TestClient(console_app) as second:
        login(first, DESI_OPERATOR)
        login(second, DESI_OPERATOR)
        page = first.get("/console/password")
        form = {"csrf_token": csrf_of(page.text), "current": "wrong-password-x"}
        form |= {"new": "a-new-password-42", "confirm": "a-new-password-42"}
        assert first.post("/console/password", data=form).status_code == 422
        form["current"] = PASSWORD
        short = form | {"new": "short", "confirm": "short"}
        assert "at least 10" in first.post("/console/password", data=short).text
        changed = first.post("/console/password", data=form)
        assert changed.status_code == 200
        assert "Your password is changed" in changed.text
        assert first.get("/console/", follow_redirects=False).status_code == 200
        assert second.get("/console/", follow_redirects=False).status_code == 303
        assert login(second, DESI_OPERATOR).status_code == 401
        assert login(second, DESI_OPERATOR, "a-new-password-42").status_code == 303


def test_rest_keeps_its_api_keys(browser: TestClient) -> None:
    login(browser, ADMIN)
    # A console session is no API credential.
    assert browser.get("/api/crm/brands/").status_code == 401
    answer = browser.get("/api/crm/brands/", headers={"Authorization": "Bearer k-console"})
    assert answer.status_code == 200


def test_console_pages_carry_a_strict_content_security_policy(browser: TestClient) -> None:
    page = browser.get("/console/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert not re.search(r"<script>(?!</script>)", page.text)  # no inline script


def test_one_clients_failures_do_not_lock_out_its_colleagues(browser: TestClient) -> None:
    """Everyone behind one proxy shares its address: five wrong passwords for one account
    lock that account, not the others."""
    for _ in range(5):
        login(browser, DESI_OPERATOR, "guess-guess-guess")
    assert login(browser, ADMIN).status_code == 303
