"""The analytics page: the funnel, email performance, A/B tests, engagement and revenue for a
date range, a brand and a pipeline of the operator's brands, with charts (inline SVG) and
every table as a CSV download, from the same domain functions as `/api/crm/analytics/`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from sqlmodel import Session, col, select
from starlette.responses import Response

from api.console import charts
from api.console.deps import Operator, OperatorDep, render
from api.deps import SessionDep, SettingsDep
from dealpilot.analytics import (
    Filters,
    ab_tests,
    compute,
    email_performance,
    engagement,
    funnel,
    pick,
    resolve,
    revenue,
    tables,
    to_csv,
)
from dealpilot.core.errors import ErrorDetail, Unprocessable
from dealpilot.core.metrics import PriceTable
from models import Brand, Pipeline, utcnow

router = APIRouter(prefix="/analytics")

From = Annotated[str, Query(alias="from", max_length=40)]
To = Annotated[str, Query(alias="to", max_length=40)]
Ref = Annotated[str, Query(max_length=100)]


def _pipeline(value: str) -> int | None:
    """The form's select sends "" for every pipeline."""
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        raise Unprocessable(
            "pipeline must be a pipeline id",
            code="invalid_request",
            details=[ErrorDetail(field="pipeline", problem="not an id")],
        )
    return int(value)


def _filters(
    session: Session, operator: Operator, start: str, end: str, brand: str, pipeline: str
) -> Filters:
    return resolve(
        session,
        operator.scope,
        start=start or None,
        end=end or None,
        brand=brand or None,
        pipeline=_pipeline(pipeline),
        today=utcnow().date(),
    )


@router.get("")
def analytics_page(
    request: Request,
    operator: OperatorDep,
    session: SessionDep,
    settings: SettingsDep,
    start: From = "",
    end: To = "",
    brand: Ref = "",
    pipeline: Ref = "",
) -> Response:
    filters = _filters(session, operator, start, end, brand, pipeline)
    # Typed here (the charts read them); the CSV route takes any section by name (`compute`).
    flow, emails, tiers = (
        funnel(session, filters),
        email_performance(session, filters),
        engagement(session, filters),
    )
    results = {
        "funnel": flow,
        "emails": emails,
        "ab-tests": ab_tests(session, filters),
        "engagement": tiers,
        "revenue": revenue(session, filters, PriceTable(settings.ai_prices).cost),
    }
    base = {**filters.query(), **({"brand": brand} if brand else {})}

    def csv_url(section: str, table: str) -> str:
        return f"/console/analytics/{section}.csv?" + urlencode({**base, "table": table})

    brands = session.exec(
        select(Brand).where(operator.scope.condition(col(Brand.id))).order_by(col(Brand.slug))
    ).all()
    pipelines = session.exec(
        select(Pipeline)
        .where(operator.scope.condition(col(Pipeline.brand_id)))
        .order_by(col(Pipeline.brand_id), col(Pipeline.name))
    ).all()
    context = {
        "filters": filters,
        "brand": brand,
        "brands": brands,
        "pipelines": pipelines,
        "brand_slugs": {b.id: b.slug for b in brands},
        "r": results,
        "csv_url": csv_url,
        "table_names": {name: list(tables(result)) for name, result in results.items()},
        "funnel_charts": {p.pipeline_id: charts.funnel_chart(p) for p in flow.pipelines},
        "rates_chart": charts.rates_chart(emails.by_day),
        "tiers_chart": charts.tiers_chart(tiers.pipelines),
    }
    return render(request, "analytics.html", context)


@router.get("/{section}.csv")
def analytics_csv(
    operator: OperatorDep,
    session: SessionDep,
    settings: SettingsDep,
    section: str,
    start: From = "",
    end: To = "",
    brand: Ref = "",
    pipeline: Ref = "",
    table: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    filters = _filters(session, operator, start, end, brand, pipeline)
    result = compute(session, section, filters, PriceTable(settings.ai_prices).cost)
    chosen, rows = pick(result, table or None)
    filename = f"{section}-{chosen}-{filters.start}-{filters.end}.csv"
    return Response(
        to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
