"""The campaign forecast in the console (issue 14, item 13): pick a pipeline, paste the
contacts' addresses, see on a calendar when each email of the sequence would go and the
brand's sends per day against its cap (nothing is enrolled, nothing sent); and each brand's
running deals for two weeks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

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
SHOWN_PER_DAY = 6  # emails named in a calendar day; the rest are counted


@dataclass
class CalendarDay:
    load: forecast.DayLoad
    emails: list[tuple[str, forecast.PlannedEmail]] = field(default_factory=list)  # brand's HH:MM

    @property
    def level(self) -> str:
        """How full the day is against its cap, as a CSS class (no inline styles: the CSP)."""
        used = self.load.new + self.load.running
        if not used:
            return "load-0"
        share = used / self.load.cap if self.load.cap else 1.0
        return "load-full" if share >= 1 else f"load-{min(3, 1 + int(share * 3))}"


def calendar(plan: forecast.Forecast, zone: str) -> list[list[CalendarDay | None]]:
    """The forecast's days as weeks, Monday first, each day with the emails of the listed
    contacts that go on it (the brand's local day, as the daily cap counts); days before the
    first or after the last are None."""
    if not plan.days:
        return []
    tz = ZoneInfo(zone)
    days = {d.day: CalendarDay(d) for d in plan.days}
    for email in plan.emails:
        at = email.at.astimezone(tz)
        cell = days.setdefault(at.date(), CalendarDay(forecast.DayLoad(at.date())))
        cell.emails.append((at.strftime("%H:%M"), email))
    first: date = min(days)
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= max(days):
        weeks.append([days.get(monday + timedelta(days=i)) for i in range(7)])
        monday += timedelta(days=7)
    return weeks


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
        "weeks": [],
        "shown_per_day": SHOWN_PER_DAY,
        "unknown": [],
        "problem": "",
    }
    chosen = next((p for p in pipelines if p.id == pipeline), None)
    addresses = emails.replace(",", "\n").splitlines()
    if chosen is not None and any(a.strip() for a in addresses):
        ids, context["unknown"] = forecast.contacts_by_email(session, chosen.brand_id, addresses)
        if ids:
            try:
                plan = forecast.forecast_list(session, chosen.id or 0, ids, start=now)
                brand = session.get(Brand, chosen.brand_id)
                context["planned"] = plan
                context["weeks"] = calendar(plan, brand.timezone if brand else "UTC")
            except DealpilotError as exc:
                context["problem"] = exc.message
    return render(request, "forecast.html", context)
