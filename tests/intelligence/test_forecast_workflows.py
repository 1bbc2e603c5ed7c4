"""The campaign forecast against what the deal workflows then do (issue 14, item 13), on the
time-skipping server: a forecast made before enrolling four contacts (one in London) into a
brand with a Mon-Fri 09:00-17:00 window and a daily cap of 2 names every email's time; the
deals, enrolled at the same moment, send each email at that time (to the second, give or take
the moment's own drift), and the forecast sent nothing."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models import Contact, EmailLog, EmailStatus, session_scope
from tests.api_workflows.conftest import Api

SYDNEY = ZoneInfo("Australia/Sydney")
DRIFT = timedelta(seconds=30)  # the forecast's "now" and the enrolment's are not one instant


async def _until_saturday_morning(api: Api) -> datetime:
    """Skips to the next Saturday 10:00 in Sydney: every deal then waits for Monday's window,
    each with its own offset into it, so the order of the sends is the rules', not a race's."""
    now: datetime = await api.stack.env.get_current_time()
    local = now.astimezone(SYDNEY)
    days = (5 - local.weekday()) % 7 or 7
    target = (local + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)
    await api.stack.env.sleep(target - local)
    return await api.stack.env.get_current_time()


async def test_the_forecast_names_the_times_the_workflows_then_send(api: Api) -> None:
    stack = api.stack
    stack.open_window(
        "codeteki",
        send_days=[0, 1, 2, 3, 4],
        send_window_start=time(9),
        send_window_end=time(17),
        daily_cap=2,
        min_gap_seconds=0,
    )
    pipeline_id = api.pipeline_id("codeteki", "sales")
    ids = [api.contact(f"c{i}@forecast.example.com", brand="codeteki") for i in range(3)]
    london = api.contact("uk@forecast.example.co.uk", brand="codeteki")
    with session_scope(stack.engine) as s:
        row = s.get(Contact, london)
        assert row is not None
        row.timezone = "Europe/London"
        s.add(row)
    ids.append(london)
    start = await _until_saturday_morning(api)

    r = await api.http.post(
        "/api/crm/forecast/",
        json={"pipeline_id": pipeline_id, "contact_ids": ids, "start_at": start.isoformat()},
    )
    assert r.status_code == 200, r.text
    planned = r.json()["emails"]
    with Session(stack.engine) as s:
        assert s.exec(select(EmailLog)).all() == []  # nothing sent, nothing stored
    # Three emails each (Intro Sent, Follow-up 1, Follow-up 2), none on a weekend, at most two
    # a Sydney day, the London contact inside London's window.
    assert len(planned) == 12
    per_day: dict[str, int] = {}
    for email in planned:
        at = datetime.fromisoformat(email["at"])
        local = at.astimezone(SYDNEY)
        per_day[local.date().isoformat()] = per_day.get(local.date().isoformat(), 0) + 1
        zone = ZoneInfo("Europe/London") if email["contact_email"].endswith(".uk") else SYDNEY
        assert at.astimezone(zone).weekday() < 5
        assert time(9) <= at.astimezone(zone).time() < time(17)
    assert max(per_day.values()) == 2
    assert any("cap" in e["held_by"] for e in planned)

    enrolled = await api.http.post(
        "/api/crm/deals/bulk/", json={"pipeline_id": pipeline_id, "contact_ids": ids}
    )
    assert enrolled.status_code == 201, enrolled.text
    deal_ids = [c["deal_id"] for c in enrolled.json()["created"]]
    assert sorted(deal_ids) == sorted({e["deal_id"] for e in planned})  # the assumed ids
    last = max(datetime.fromisoformat(e["at"]) for e in planned)
    await stack.env.sleep(last - start + timedelta(days=1))

    with Session(stack.engine) as s:
        sent = s.exec(
            select(EmailLog)
            .where(EmailLog.status == EmailStatus.sent)
            .order_by(col(EmailLog.sent_at))
        ).all()
    actual = [(log.deal_id, log.stage_id, log.sent_at) for log in sent]
    expected = [(e["deal_id"], e["stage_id"], datetime.fromisoformat(e["at"])) for e in planned]
    assert [(d, st) for d, st, _ in actual] == [(d, st) for d, st, _ in expected]
    for (_d, _s, at), (_d2, _s2, want) in zip(actual, expected, strict=True):
        assert at is not None
        assert abs(at - want) <= DRIFT, (at, want)
    assert len(stack.inbox.messages) == 12
