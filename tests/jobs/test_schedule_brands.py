"""The brands whose daily review the worker schedules: the active ones, with their time zone."""

from __future__ import annotations

from sqlmodel import Session

from dealpilot.temporal.schedules import BrandClock, active_brand_clocks
from tests.factories import make_brand


def test_active_brand_clocks_leave_out_inactive_brands(session: Session) -> None:
    make_brand(session, slug="sydney", timezone="Australia/Sydney")
    make_brand(session, slug="paris", timezone="Europe/Paris")
    make_brand(session, slug="asleep", timezone="UTC", is_active=False)
    session.flush()

    clocks = active_brand_clocks(session)

    assert sorted(clocks, key=lambda c: c.slug) == [
        BrandClock("paris", "Europe/Paris"),
        BrandClock("sydney", "Australia/Sydney"),
    ]
