"""Warm-up's ramp and the guard's hold on it (issue 14, item 9), on PostgreSQL: the cap per
step, one step per local day on the day's first send attempt, held while the bounce rate is
over 1%, each step and hold in the decision log. Day by day on Temporal:
tests/intelligence/test_warmup_workflows.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dealpilot.deals import deliverability, warmup
from models import AIDecisionLog, Brand, session_scope, utcnow
from tests.factories import make_brand
from tests.intelligence.test_guard import _sends


def test_the_ramp_grows_by_its_percentage_up_to_the_target() -> None:
    caps = [warmup.warmup_cap(20, 50, 200, level) for level in range(8)]
    assert caps == [20, 30, 45, 67, 100, 150, 200, 200]
    assert [warmup.warmup_cap(2, 100, 8, n) for n in range(4)] == [2, 4, 8, 8]
    assert [warmup.warmup_cap(1, 10, 5, n) for n in range(5)] == [1, 2, 3, 4, 5]  # at least +1
    assert warmup.warmup_cap(50, 50, 30, 0) == 30  # never over the target


def _attempt(engine: Engine, brand_id: int, now: datetime) -> tuple[int, int]:
    """A send attempt at `now`: the brand's warm-up level and cap after it."""
    with session_scope(engine) as s:
        brand = s.get(Brand, brand_id)
        assert brand is not None
        assert deliverability.gate(s, brand, deal_id=3, now=now) is None
        return brand.warmup_level, warmup.effective_cap(brand)


def test_a_bounce_rate_over_one_percent_holds_the_step(engine: Engine, client: TestClient) -> None:
    with session_scope(engine) as s:
        brand_id = (
            make_brand(
                s,
                slug="ramp-co",
                timezone="UTC",
                daily_cap=100,
                warmup_enabled=True,
                warmup_start_cap=10,
                warmup_increase_percent=50,
            ).id
            or 0
        )
    day1 = utcnow().replace(hour=10, minute=0, second=0, microsecond=0)
    assert _attempt(engine, brand_id, day1) == (0, 10)
    assert _attempt(engine, brand_id, day1 + timedelta(hours=3)) == (0, 10)  # same day
    _sends(engine, brand_id, 200, bounced=3)  # 1.5%: under the pause, over the hold
    assert _attempt(engine, brand_id, day1 + timedelta(days=1)) == (0, 10)
    _sends(engine, brand_id, 200)  # 3 of 400: 0.75%
    assert _attempt(engine, brand_id, day1 + timedelta(days=2)) == (1, 15)
    assert _attempt(engine, brand_id, day1 + timedelta(days=2, hours=1)) == (1, 15)
    with Session(engine) as s:
        rows = s.exec(
            select(AIDecisionLog)
            .where(col(AIDecisionLog.decision_type).like("warmup%"))
            .order_by(col(AIDecisionLog.id))
        ).all()
    assert [(r.decision_type, r.action_taken) for r in rows] == [
        ("warmup_hold", "held:10"),
        ("warmup_step", "cap:15"),
    ]
    assert (rows[0].meta["sends"], rows[0].meta["bounce_rate"]) == (200, 0.015)
    assert (rows[1].meta["sends"], rows[1].meta["bounce_rate"], rows[1].meta["new_cap"]) == (
        400,
        0.0075,
        15,
    )
    body = client.get(f"/api/crm/brands/{brand_id}/deliverability/").json()
    assert body["warmup"] == {
        "enabled": True,
        "started_on": day1.date().isoformat(),
        "level": 1,
        "cap": 15,
        "target": 100,
        "done": False,
        "progress_percent": 15,
    }
    # A new sending domain: the ramp starts again from its start cap.
    restarted = client.post(f"/api/crm/brands/{brand_id}/warmup/restart/").json()["warmup"]
    assert (restarted["level"], restarted["cap"]) == (0, 10)


def test_a_new_brand_warms_up_and_a_new_sending_domain_starts_the_ramp_again(
    engine: Engine, client: TestClient
) -> None:
    made = client.post(
        "/api/crm/brands/",
        json={
            "slug": "fresh-co",
            "name": "Fresh Co",
            "domain": "fresh.example.com",
            "from_email": "hi@fresh.example.com",
            "from_name": "Fresh",
            "daily_cap": 100,
        },
    )
    assert made.status_code == 201, made.text
    brand_id = made.json()["id"]
    assert made.json()["warmup_enabled"] is True
    day1 = utcnow().replace(hour=1, minute=0, second=0, microsecond=0)
    with session_scope(engine) as s:  # days counted in UTC here
        brand = s.get(Brand, brand_id)
        assert brand is not None
        brand.timezone = "UTC"
        s.add(brand)
    for n in range(3):
        _attempt(engine, brand_id, day1 + timedelta(days=n))
    assert client.get(f"/api/crm/brands/{brand_id}/deliverability/").json()["warmup"]["cap"] == 45
    # Same domain, another mailbox: the ramp goes on.
    client.patch(f"/api/crm/brands/{brand_id}/", json={"from_email": "sales@fresh.example.com"})
    assert client.get(f"/api/crm/brands/{brand_id}/deliverability/").json()["warmup"]["cap"] == 45
    client.patch(f"/api/crm/brands/{brand_id}/", json={"from_email": "hi@fresh-mail.example.net"})
    warm = client.get(f"/api/crm/brands/{brand_id}/deliverability/").json()["warmup"]
    assert (warm["level"], warm["cap"], warm["started_on"]) == (0, 20, None)
