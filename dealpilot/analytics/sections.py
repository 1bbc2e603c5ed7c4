"""The five sections by the name their URLs use, each computed the same way for the REST
API and the console."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel
from sqlmodel import Session

from dealpilot.analytics.abtests import ab_tests
from dealpilot.analytics.emails import email_performance
from dealpilot.analytics.engagement import engagement
from dealpilot.analytics.filters import Filters
from dealpilot.analytics.funnel import funnel
from dealpilot.analytics.revenue import Pricing, revenue
from dealpilot.core.errors import NotFound

Compute = Callable[[Session, Filters, Pricing], BaseModel]

SECTIONS: dict[str, Compute] = {
    "funnel": lambda s, f, _p: funnel(s, f),
    "emails": lambda s, f, _p: email_performance(s, f),
    "ab-tests": lambda s, f, _p: ab_tests(s, f),
    "engagement": lambda s, f, _p: engagement(s, f),
    "revenue": revenue,
}


def compute(session: Session, name: str, filters: Filters, price: Pricing) -> BaseModel:
    try:
        section = SECTIONS[name]
    except KeyError:
        raise NotFound(f"No analytics section {name[:40]!r}", code="unknown_section") from None
    return section(session, filters, price)
