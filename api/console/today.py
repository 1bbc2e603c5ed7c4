"""Today (the console's home page)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.console.deps import OperatorDep, render
from api.deps import SessionDep, SettingsDep
from dealpilot.desk.today import today
from models import utcnow

router = APIRouter()


@router.get("/")
def today_page(
    request: Request, operator: OperatorDep, session: SessionDep, settings: SettingsDep
) -> Response:
    work = today(
        session,
        operator.scope,
        now=utcnow(),
        stuck_after=timedelta(days=settings.stuck_deal_days),
    )
    return render(request, "today.html", {"today": work})
