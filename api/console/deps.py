"""What every console page needs: the signed-in user and the brands they may see, the CSRF
check for state-changing requests, and the templates (autoescaped)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from api.console.session import ConsoleSession, current
from api.deps import SessionDep
from dealpilot.accounts import BrandScope, brand_scope, session_user
from dealpilot.core.errors import DealpilotError
from models import UserRole

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_env)


class LoginRequired(Exception):
    """No signed-in user: pages redirect to the login page, scripts get a 401."""


class CsrfRefused(DealpilotError):
    status_code = 403
    code = "csrf_refused"

    def __init__(self) -> None:
        super().__init__(
            "This form has expired or did not come from the console. Reload the page and "
            "try again.",
            code=self.code,
        )


class Forbidden(DealpilotError):
    status_code = 403
    code = "forbidden"


@dataclass(frozen=True)
class Operator:
    """The signed-in user and the brands they may see: plain values, not the row, so pages
    can show them after the request's transaction ended (a workflow call commits first)."""

    user_id: int
    email: str
    role: UserRole
    scope: BrandScope

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.admin


def console_session(request: Request) -> ConsoleSession:
    return current(request)


SessionCookieDep = Annotated[ConsoleSession, Depends(console_session)]


def signed_in(request: Request, cookie: SessionCookieDep, session: SessionDep) -> Operator:
    if cookie.user_id is None:
        raise LoginRequired()
    user = session_user(session, cookie.user_id, cookie.version)
    if user is None:
        cookie.log_out()
        raise LoginRequired()
    operator = Operator(
        user_id=user.id or 0, email=user.email, role=user.role, scope=brand_scope(session, user)
    )
    request.state.operator = operator
    return operator


OperatorDep = Annotated[Operator, Depends(signed_in)]


def admin_only(operator: OperatorDep) -> Operator:
    if not operator.is_admin:
        raise Forbidden("Only an admin may do this", code="forbidden")
    return operator


AdminDep = Annotated[Operator, Depends(admin_only)]


async def verify_csrf(request: Request) -> None:
    """Every state-changing request carries the session's token, in the form
    (`csrf_token`) or, from scripts, in the `X-CSRF-Token` header."""
    if request.method in SAFE_METHODS:
        return
    expected = current(request).csrf
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused()


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    cookie = current(request)
    data: dict[str, Any] = {
        "csrf_token": cookie.csrf,
        "flashes": cookie.take_flashes(),
        "operator": getattr(request.state, "operator", None),
        **(context or {}),
    }
    return templates.TemplateResponse(request, name, data, status_code=status_code)


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/console/login?next={quote(target, safe='')}"


def safe_next(target: str | None) -> str:
    """Only a console page of ours: never an open redirect (`//evil.example`, `https:`)."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        if "\\" not in target and "://" not in target:
            return target
    return "/console/"
