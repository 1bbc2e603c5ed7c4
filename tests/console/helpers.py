"""Signing in to the console as a browser would: fetch the form, post it with its token."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealpilot.accounts import create_user
from models import UserRole, session_scope

PASSWORD = "correct-horse-battery"
ADMIN = "admin@codeteki.com.au"
DESI_OPERATOR = "ops@desifirms.com.au"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_users(engine: Engine) -> None:
    """An admin, and an operator of Desi Firms only (the seeded brands must exist)."""
    with session_scope(engine) as session:
        create_user(session, email=ADMIN, password=PASSWORD, role=UserRole.admin)
        create_user(
            session,
            email=DESI_OPERATOR,
            password=PASSWORD,
            role=UserRole.operator,
            brands=["desifirms"],
        )


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def login(client: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:
    token = csrf_of(client.get("/console/login").text)
    return client.post(
        "/console/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def token(client: TestClient, page: str = "/console/") -> str:
    return csrf_of(client.get(page).text)


async def alogin(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Signs `http` in; returns the session's CSRF token for later posts."""
    form = csrf_of((await http.get("/console/login")).text)
    answer = await http.post(
        "/console/login",
        data={"email": email, "password": password, "csrf_token": form},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of((await http.get("/console/")).text)
