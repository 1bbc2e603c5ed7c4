"""Warm-up on the time-skipping server (issue 14, item 9): a brand warming up from 2 a day,
doubling each sending day up to its daily cap of 8, sends 2, then 4, then 8 emails a day, as
counted on the SMTP server at the end of each skipped day."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models import AIDecisionLog, Brand
from tests.api_workflows.conftest import Api

SYDNEY = ZoneInfo("Australia/Sydney")


async def _until_next_local_day(api: Api, *, hour: int) -> None:
    """Skips to `hour` o'clock of the next day in the brand's zone."""
    now: datetime = await api.stack.env.get_current_time()
    local = now.astimezone(SYDNEY)
    target = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    await api.stack.env.sleep(target - local)


async def test_the_warmup_cap_grows_day_by_day(api: Api) -> None:
    stack = api.stack
    stack.open_window(
        "codeteki",
        daily_cap=8,
        warmup_enabled=True,
        warmup_start_cap=2,
        warmup_increase_percent=100,
    )
    brand_id = stack.brand("codeteki").id
    now: datetime = await stack.env.get_current_time()
    if now.astimezone(SYDNEY).hour >= 20:
        await _until_next_local_day(api, hour=6)  # the whole first day's sends on one day
    for i in range(14):
        await stack.enrol(f"lead{i}@warm.example.com", brand="codeteki", pipeline="sales")
    await stack.env.sleep(timedelta(hours=2))
    per_day = [len(stack.inbox.messages)]
    r = await api.http.get(f"/api/crm/brands/{brand_id}/deliverability/")
    assert r.json()["warmup"] | {"started_on": None} == {
        "enabled": True,
        "started_on": None,
        "level": 0,
        "cap": 2,
        "target": 8,
        "done": False,
        "progress_percent": 25,
    }
    for _day in range(2):
        await _until_next_local_day(api, hour=12)
        per_day.append(len(stack.inbox.messages) - sum(per_day))
    assert per_day == [2, 4, 8]
    r = await api.http.get(f"/api/crm/brands/{brand_id}/deliverability/")
    warm = r.json()["warmup"]
    assert (warm["level"], warm["cap"], warm["done"], warm["progress_percent"]) == (2, 8, True, 100)
    with Session(stack.engine) as s:
        steps = s.exec(
            select(AIDecisionLog.action_taken)
            .where(AIDecisionLog.decision_type == "warmup_step")
            .order_by(col(AIDecisionLog.id))
        ).all()
        brand = s.get(Brand, brand_id)
        assert brand is not None
    assert steps == ["cap:4", "cap:8"]
    assert brand.warmup_started_on is not None
