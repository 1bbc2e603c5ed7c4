"""Analytics as JSON, or any of a section's tables as CSV (`?format=csv&table=...`), over a
date range (`from`, `to`: YYYY-MM-DD, whole UTC days, default the last 30), a brand and a
pipeline. The API key sees every brand."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel
from sqlmodel import Session
from starlette.responses import Response

from api.deps import IdQuery, SessionDep, SettingsDep
from api.routing import CRMRouter
from dealpilot.accounts import BrandScope
from dealpilot.analytics import (
    ABTests,
    EmailPerformance,
    Engagement,
    Funnel,
    Revenue,
    compute,
    pick,
    resolve,
    to_csv,
)
from dealpilot.core.metrics import PriceTable
from dealpilot.core.settings import Settings
from models import utcnow

router = CRMRouter(prefix="/analytics", tags=["analytics"])

From = Annotated[
    str | None, Query(alias="from", max_length=40, description="First day, YYYY-MM-DD")
]
To = Annotated[
    str | None, Query(alias="to", max_length=40, description="Last day (inclusive), YYYY-MM-DD")
]
BrandQuery = Annotated[str | None, Query(max_length=100, description="Brand id or slug")]
Format = Annotated[Literal["json", "csv"], Query()]
TableQuery = Annotated[str | None, Query(max_length=40, description="CSV: which table")]


def answer(
    session: Session,
    settings: Settings,
    name: str,
    scope: BrandScope,
    *,
    start: str | None,
    end: str | None,
    brand: str | None,
    pipeline: int | None,
    fmt: str,
    table: str | None,
) -> BaseModel | Response:
    """One section, as JSON (the model) or one of its tables as a CSV download."""
    filters = resolve(
        session, scope, start=start, end=end, brand=brand, pipeline=pipeline, today=utcnow().date()
    )
    result = compute(session, name, filters, PriceTable(settings.ai_prices).cost)
    if fmt != "csv":
        return result
    chosen, rows = pick(result, table)
    filename = f"{name}-{chosen}-{filters.start}-{filters.end}.csv"
    return Response(
        to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _route(name: str, model: type[BaseModel], summary: str) -> None:
    def endpoint(
        session: SessionDep,
        settings: SettingsDep,
        start: From = None,
        end: To = None,
        brand: BrandQuery = None,
        pipeline: IdQuery = None,
        format: Format = "json",
        table: TableQuery = None,
    ) -> BaseModel | Response:
        return answer(
            session,
            settings,
            name,
            BrandScope.everything(),
            start=start,
            end=end,
            brand=brand,
            pipeline=pipeline,
            fmt=format,
            table=table,
        )

    endpoint.__name__ = f"analytics_{name.replace('-', '_')}"
    endpoint.__doc__ = summary
    router.add_api_route(f"/{name}/", endpoint, methods=["GET"], response_model=model)


_route(
    "funnel",
    Funnel,
    "Per pipeline: deals reaching each stage, conversion, time in stage, won/lost.",
)
_route(
    "emails", EmailPerformance, "Email outcomes by brand, pipeline, stage, template, variant, day."
)
_route(
    "ab-tests", ABTests, "Each stage's A/B test: figures per variant, significance, decided tests."
)
_route(
    "engagement",
    Engagement,
    "Tier distribution per pipeline; ghost/burnout/change-of-approach per day.",
)
_route(
    "revenue",
    Revenue,
    "Pipeline value by stage, forecast, won value, AI cost and sends per won deal.",
)
