"""Errors on console pages are pages: a clear message and the status, never a traceback and
never the REST API's JSON envelope. Other paths keep the handlers api.errors installed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.console.deps import LoginRequired, login_url, render
from api.console.session import PREFIX
from dealpilot.core.errors import DealpilotError

log = structlog.get_logger(__name__)
Handler = Callable[[Request, Exception], Awaitable[Response]]


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _page(request: Request, status: int, title: str, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"ok": False, "message": message}, status_code=status)
    context = {"title": title, "message": message, "status": status}
    return render(request, "error.html", context, status_code=status)


async def _login_required(request: Request, exc: Exception) -> Response:
    if _wants_json(request) or request.method != "GET":
        return JSONResponse({"ok": False, "message": "Sign in again."}, status_code=401)
    return RedirectResponse(login_url(request), status_code=303)


def _console_first(original: Handler | None, console: Handler) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(PREFIX) or original is None:
            return await console(request, exc)
        return await original(request, exc)

    return handler


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DealpilotError)
    titles = {404: "Not found", 403: "Not allowed", 409: "Not possible now", 503: "Unavailable"}
    return _page(request, exc.status_code, titles.get(exc.status_code, "Error"), exc.message)


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = ", ".join(str(e["loc"][-1]) for e in exc.errors() if e.get("loc"))
    return _page(request, 422, "Check the form", f"These fields are not valid: {fields}.")


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return _page(request, exc.status_code, "Error", str(exc.detail))


async def _unhandled(request: Request, exc: Exception) -> Response:
    log.exception("console_error", path=request.url.path)
    return _page(
        request,
        500,
        "Something went wrong",
        "The change was not made. Try again; if it keeps failing, tell an admin "
        f"(request {getattr(request.state, 'request_id', '')}).",
    )


def install(app: FastAPI) -> None:
    handlers = app.exception_handlers
    app.add_exception_handler(LoginRequired, _login_required)
    console_handlers: list[tuple[type[Exception], Handler]] = [
        (DealpilotError, _domain),
        (RequestValidationError, _invalid),
        (StarletteHTTPException, _http),
        (Exception, _unhandled),
    ]
    for kind, console in console_handlers:
        original = cast(Handler | None, handlers.get(kind))
        app.add_exception_handler(kind, _console_first(original, console))
