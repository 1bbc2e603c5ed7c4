"""The campaign forecast in the console (issue 14, item 13): pick a pipeline, paste the
contacts' addresses, see when each email of the sequence would go and the brand's sends per
day (nothing is enrolled, nothing sent); and each brand's running deals for two weeks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlmodel import col, select
from starlette.responses import Response

from api.console.deps import OperatorDep, render
from api.deps import IdQuery, SessionDep
from dealpilot.core.errors import DealpilotError
from dealpilot.deals import forecast
from models import Brand, Pipeline, utcnow

router = APIRouter()
MAX_PASTED = 20_000  # characters: a few hundred addresses


@router.get("/forecast")
def forecast_page(
    request: Request,
    operator: OperatorDep,
    session: SessionDep,
    pipeline: IdQuery = None,
    emails: Annotated[str, Query(max_length=MAX_PASTED)] = "",
) -> Response:
    scope = operator.scope
    brands = session.exec(
        select(Brand).where(scope.condition(Brand.id)).order_by(col(Brand.slug))
    ).all()
    pipelines = session.exec(
        select(Pipeline)
        .where(scope.condition(Pipeline.brand_id))
        .order_by(col(Pipeline.brand_id), col(Pipeline.name))
    ).all()
    now = utcnow()
    context: dict[str, Any] = {
        "pipelines": pipelines,
        "chosen": pipeline,
        "emails": emails,
        "running": [(b, forecast.forecast_running(session, b, start=now)) for b in brands],
        "planned": None,
        "unknown": [],
        "problem": "",
    }
    chosen = next((p for p in pipelines if p.id == pipeline), None)
    addresses = emails.replace(",", "\n").splitlines()
    if chosen is not None and any(a.strip() for a in addresses):
        ids, context["unknown"] = forecast.contacts_by_email(session, chosen.brand_id, addresses)
        if ids:
            try:
                context["planned"] = forecast.forecast_list(session, chosen.id or 0, ids, start=now)
            except DealpilotError as exc:
                context["problem"] = exc.message
    return render(request, "forecast.html", context)
