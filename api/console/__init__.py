"""The operator's console: server-rendered pages under /console on the same app as the REST
API, calling the same domain functions and the same deal-workflow client (no second path to
deal state). Signed-cookie sessions, CSRF on every state-changing request, brand scoping."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from starlette.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

from api.console import (
    admin,
    analytics,
    auth,
    backlinks,
    board,
    composer,
    composer_recipients,
    contacts,
    deal,
    enrolment,
    errors,
    forecast,
    imports,
    review,
    sending,
    sequences,
    stage_settings,
    tiers,
    today,
)
from api.console.deps import verify_csrf
from api.console.session import PREFIX, ConsoleSessionMiddleware
from dealpilot.accounts import LoginThrottle
from dealpilot.core.settings import Settings


def install_console(app: FastAPI, settings: Settings) -> None:
    app.state.login_throttle = LoginThrottle(max_failures=5)  # per address
    app.state.client_throttle = LoginThrottle(max_failures=50)  # per client address
    router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(verify_csrf)])
    for part in (
        auth.router,
        today.router,
        review.router,
        board.router,
        deal.router,
        contacts.router,
        enrolment.router,
        backlinks.router,
        composer_recipients.router,
        composer.router,
        imports.router,
        admin.router,
        stage_settings.router,
        sequences.router,
        tiers.router,
        sending.router,
        forecast.router,
        analytics.router,
    ):
        router.include_router(part)
    app.include_router(router)
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(directory=Path(__file__).parent / "static"),
        name="console-static",
    )

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    app.add_middleware(ConsoleSessionMiddleware, settings=settings)
    errors.install(app)


__all__ = ["install_console"]
