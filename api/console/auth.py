"""Login, logout and password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.console.deps import OperatorDep, SessionCookieDep, render, safe_next
from api.deps import SessionDep, UnitOfWorkDep
from dealpilot.accounts import MIN_PASSWORD_LENGTH, LoginThrottle, authenticate, change_password
from dealpilot.core.errors import DealpilotError

router = APIRouter()


def _throttles(request: Request) -> tuple[LoginThrottle, LoginThrottle]:
    """Per address (a handful of guesses), and per client address (more: behind a proxy or an
    office NAT many people share one, and one typo-prone colleague must not lock all out)."""
    state = request.app.state
    return state.login_throttle, state.client_throttle


@router.get("/login")
def login_page(request: Request, cookie: SessionCookieDep, next: str = "") -> Response:
    return render(request, "login.html", {"next": safe_next(next), "email": ""})


@router.post("/login")
async def login(
    request: Request,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    by_email, by_client = _throttles(request)
    address = email.strip().lower()
    client = request.client.host if request.client else "unknown"
    context = {"next": safe_next(next), "email": email}
    if by_email.blocked(address) or by_client.blocked(client):
        context["error"] = "Too many failed logins. Wait a few minutes, then try again."
        return render(request, "login.html", context, status_code=429)
    user = await run_in_threadpool(authenticate, uow.session, email, password)
    if user is None:
        by_email.failed(address)
        by_client.failed(client)
        context["error"] = "The email or the password is not right."
        return render(request, "login.html", context, status_code=401)
    by_email.succeeded(address)
    cookie.log_in(user.id or 0, user.session_version)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(cookie: SessionCookieDep) -> Response:
    cookie.log_out()
    cookie.flash("You are signed out.")
    return RedirectResponse("/console/login", status_code=303)


@router.get("/password")
def password_page(request: Request, operator: OperatorDep) -> Response:
    return render(request, "password.html", {"min_length": MIN_PASSWORD_LENGTH})


@router.post("/password")
def password_change(
    request: Request,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    current: Annotated[str, Form(max_length=1024)],
    new: Annotated[str, Form(max_length=1024)],
    confirm: Annotated[str, Form(max_length=1024)],
) -> Response:
    context: dict[str, object] = {"min_length": MIN_PASSWORD_LENGTH}
    if new != confirm:
        context["error"] = "The new password and its confirmation differ."
        return render(request, "password.html", context, status_code=422)
    try:
        user = change_password(session, operator.user_id, current=current, new=new)
    except DealpilotError as exc:
        context["error"] = exc.message
        return render(request, "password.html", context, status_code=exc.status_code)
    # This session carries on with the new version; every other one is signed out.
    cookie.log_in(user.id or 0, user.session_version)
    cookie.flash("Your password is changed. Other sessions are signed out.", "success")
    return RedirectResponse("/console/", status_code=303)
