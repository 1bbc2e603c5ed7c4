"""The campaign forecast against the rule functions themselves (issue 14, item 13), on
PostgreSQL: window offsets per deal, the warm-up's cap day by day, a full day's retry, the
follow-up waits, a running deal sharing the caps, silent contacts closed as ghosts; nothing is
stored. What the workflows then do: tests/intelligence/test_forecast_workflows.py."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from dealpilot.deals import forecast
from dealpilot.deals.send_limits import cap_retry_at
from dealpilot.deals.store import brand_window, stage_info
from models import Brand, Deal, EmailLog, PipelineStage, session_scope
from tests.factories import make_brand, make_contact, make_deal, make_pipeline, stages_of
from workflows import cadence, rules

SYDNEY = ZoneInfo("Australia/Sydney")
MONDAY = datetime(2031, 3, 3, 8, 0, tzinfo=SYDNEY)  # before the window opens
STAGES = (
    ("Invited", "invited", "entry"),
    ("Intro", "intro", "sequence"),
    ("Nudge", "nudge", "sequence"),
    ("Last word", "last-word", "sequence"),
    ("Lost", "lost", "lost"),
)


def _setup(engine: Engine) -> tuple[int, list[int], int]:
    """A warming-up brand (1, then x2 a day, up to 4), a pipeline Intro (2 days) -> Nudge
    (3 days) -> Last word (final, 4 days), three new contacts and one running deal."""
    with session_scope(engine) as s:
        brand = make_brand(
            s,
            slug="fc-co",
            timezone="Australia/Sydney",
            send_window_start=time(9),
            send_window_end=time(17),
            daily_cap=4,
            min_gap_seconds=0,
            warmup_enabled=True,
            warmup_start_cap=1,
            warmup_increase_percent=100,
        )
        pipeline = make_pipeline(s, brand=brand, stages=STAGES)  # type: ignore[arg-type]
        stages = stages_of(s, pipeline)
        for slug, days in (("invited", 0), ("intro", 2), ("nudge", 3), ("last-word", 4)):
            stages[slug].days_until_followup = days
            s.add(stages[slug])
        running = make_deal(
            s, contact=make_contact(s, brand=brand, email="old@fc.example.com"), pipeline=pipeline
        )
        running.stage_id = stages["nudge"].id or 0  # Nudge sent; Last word due Wednesday
        running.next_action_at = MONDAY + timedelta(days=2, hours=4)
        s.add(running)
        contacts = [
            make_contact(s, brand=brand, email=f"n{i}@fc.example.com").id or 0 for i in range(3)
        ]
        return pipeline.id or 0, contacts, running.id or 0


def test_the_forecast_follows_the_rules_exactly(engine: Engine, client: TestClient) -> None:
    pipeline_id, contacts, running_id = _setup(engine)
    with Session(engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == "fc-co")).one()
        window = brand_window(brand)
        rows = s.exec(select(PipelineStage).where(PipelineStage.pipeline_id == pipeline_id))
        stages = {st.slug: stage_info(st) for st in rows.all()}
    infos = list(stages.values())
    r = client.post(
        "/api/crm/forecast/",
        json={
            "pipeline_id": pipeline_id,
            "contact_ids": contacts,
            "start_at": MONDAY.isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    got = [
        (e["deal_id"], e["stage_name"], datetime.fromisoformat(e["at"]), e["held_by"])
        for e in body["emails"]
    ]

    # Monday: each new deal waits for the window and its own offset; the warm-up's first day
    # allows one email, so the earliest offset sends and the others retry the next day.
    deals = [running_id + 1, running_id + 2, running_id + 3]
    opening = {d: rules.next_send_time(MONDAY, window, d) for d in deals}
    first, *others = sorted(deals, key=lambda d: opening[d])
    midnight = MONDAY.replace(hour=0)
    tuesday = {d: cap_retry_at(midnight, window, d) for d in others}
    intro = {first: opening[first], **tuesday}
    # Each next email: the stage's wait by the tier of the wake that sent the email before
    # (a silent contact with 0 or 1 unopened email is "new": x1), then the window.
    wait_intro, _ = cadence.follow_up_wait(infos, stages["intro"], "new", by_tier=True)
    wait_nudge, final = cadence.follow_up_wait(infos, stages["nudge"], "new", by_tier=True)
    assert (wait_intro, wait_nudge, final) == (timedelta(days=2), timedelta(days=3), False)
    order = [first, *sorted(others, key=tuesday.get)]
    expected = [(first, "Intro", intro[first], ["window"])]
    expected += [(d, "Intro", tuesday[d], ["window", "cap"]) for d in order[1:]]

    def sent_at(due: datetime, deal: int) -> tuple[datetime, list[str]]:
        at = rules.next_send_time(due, window, deal)
        return at, ([] if at == due else ["window"])

    for d in order:
        nudge, held = sent_at(intro[d] + wait_intro, d)
        expected.append((d, "Nudge", nudge, held))
        last, held = sent_at(nudge + wait_nudge, d)  # Wed/Thu + 3 days: the weekend waits
        expected.append((d, "Last word", last, held))
    expected.sort(key=lambda e: (e[2], e[0]))
    assert got == expected

    days = {d["day"]: (d["running"], d["new"], d["cap"]) for d in body["days"]}
    assert days["2031-03-03"] == (0, 1, 1)  # warm-up day 1: cap 1
    assert days["2031-03-04"] == (0, 2, 2)  # day 2: cap 2
    assert days["2031-03-05"] == (1, 1, 4)  # the running deal's Last word; cap 4 (target)
    assert sum(n for _r, n, _c in days.values()) == 9
    with Session(engine) as s:
        assert s.exec(select(EmailLog)).all() == []
        assert len(s.exec(select(Deal)).all()) == 1  # nothing enrolled


def test_silent_contacts_stop_as_ghosts_and_a_paused_brand_sends_nothing(
    engine: Engine, client: TestClient
) -> None:
    with session_scope(engine) as s:
        brand = make_brand(s, slug="long-co", daily_cap=50, min_gap_seconds=0)
        stages = tuple((f"Step {i}", f"step-{i}", "sequence" if i else "entry") for i in range(6))
        pipeline = make_pipeline(s, brand=brand, stages=(*stages, ("Lost", "lost", "lost")))  # type: ignore[arg-type]
        for stage in stages_of(s, pipeline).values():
            stage.days_until_followup = 1
            s.add(stage)
        contact = make_contact(s, brand=brand, email="quiet@long.example.com").id or 0
        pipeline_id = pipeline.id or 0
    result = client.post(
        "/api/crm/forecast/",
        json={"pipeline_id": pipeline_id, "contact_ids": [contact], "start_at": MONDAY.isoformat()},
    ).json()
    # Five sequence steps, but three unopened emails make a ghost: the guard closes it.
    assert [e["stage_name"] for e in result["emails"]] == ["Step 1", "Step 2", "Step 3"]
    kept = client.post(
        "/api/crm/forecast/",
        json={
            "pipeline_id": pipeline_id,
            "contact_ids": [contact],
            "start_at": MONDAY.isoformat(),
            "tier": "warm",
        },
    ).json()
    assert len(kept["emails"]) == 5  # a contact who opens goes through the sequence

    with session_scope(engine) as s:
        row = s.exec(select(Brand).where(Brand.slug == "long-co")).one()
        row.sending_paused_at, row.sending_paused_reason = MONDAY, "bounce rate 3.0% ..."
        s.add(row)
    paused = client.post(
        "/api/crm/forecast/",
        json={"pipeline_id": pipeline_id, "contact_ids": [contact], "start_at": MONDAY.isoformat()},
    ).json()
    assert (paused["paused_reason"], paused["emails"]) == ("bounce rate 3.0% ...", [])
    other = make_brand_contact(engine)
    refused = client.post(
        "/api/crm/forecast/", json={"pipeline_id": pipeline_id, "contact_ids": [other]}
    )
    assert refused.status_code == 422


def make_brand_contact(engine: Engine) -> int:
    with session_scope(engine) as s:
        brand = make_brand(s, slug="elsewhere-co")
        return make_contact(s, brand=brand, email="x@elsewhere.example.com").id or 0


def test_running_deals_expected_sends_per_day(engine: Engine, client: TestClient) -> None:
    _pipeline_id, _contacts, _running = _setup(engine)
    with Session(engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == "fc-co")).one()
        result = forecast.forecast_running(s, brand, start=MONDAY)
    assert result.emails == []  # only counts for running deals
    loads = {d.day.isoformat(): d.running for d in result.days if d.running}
    assert loads == {"2031-03-05": 1}
    assert len(result.days) == 14
    r = client.get("/api/crm/forecast/running/", params={"brand": "fc-co"})
    assert r.status_code == 200, r.text
    assert len(r.json()["days"]) == 14
    assert client.get("/api/crm/forecast/running/", params={"brand": "nope"}).status_code == 404
