"""The console's side of items 7 and 9: a stage's A/B figures and decided tests on the
pipeline's settings page, "Decide now", and a brand's warm-up settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.console.forecast import calendar
from dealpilot.deals.forecast import DayLoad, Forecast, PlannedEmail
from models import Brand, EmailLog, EmailStatus, PipelineStage, session_scope, utcnow
from tests.console.data import pipeline
from tests.console.helpers import ADMIN, DESI_OPERATOR, login, token
from tests.factories import make_contact


def _invited(engine: Engine) -> tuple[int, int, int]:
    with session_scope(engine) as s:
        brand, sales = pipeline(s, "codeteki", "sales")
        stage = s.exec(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == sales.id)
            .order_by(
                PipelineStage.order  # type: ignore[arg-type]
            )
        ).first()
        assert stage is not None
        stage.subject, stage.subject_variant_b = "Subject one", "Subject two"
        stage.ab_started_at, stage.ab_min_sends = utcnow() - timedelta(days=9), 40
        s.add(stage)
        for variant, replies in (("A", 2), ("B", 14)):
            s.add_all(
                EmailLog(
                    idempotency_key=f"console-ab-{variant}-{i}",
                    brand_id=brand.id or 0,
                    stage_id=stage.id,
                    to_email=f"{variant}{i}@example.com",
                    subject="x",
                    variant=variant,
                    status=EmailStatus.sent,
                    sent_at=utcnow() - timedelta(days=2),
                    replied=i < replies,
                )
                for i in range(40)
            )
        return sales.id or 0, stage.id or 0, brand.id or 0


def test_the_stage_settings_show_the_test_and_decide_it(
    engine: Engine, browser: TestClient
) -> None:
    pipeline_id, stage_id, _brand = _invited(engine)
    login(browser, ADMIN)
    page = browser.get(f"/console/settings/pipelines/{pipeline_id}").text
    assert "A 2/40 (5.0%) · B 14/40 (35.0%)" in page
    assert "<strong>B wins</strong>" in page
    done = browser.post(
        f"/console/settings/stages/{stage_id}/ab/decide",
        data={"csrf_token": token(browser, "/console/settings/")},
    )
    assert "subject B wins and is now the subject" in done.text
    assert "\u201cSubject one\u201d retired" in done.text  # the decided test, listed
    with Session(engine) as s:
        stage = s.get(PipelineStage, stage_id)
        assert stage is not None
        assert (stage.subject, stage.subject_variant_b) == ("Subject two", None)
    # A new challenger from the same form, with its own number of sends per variant.
    browser.post(
        f"/console/settings/stages/{stage_id}",
        data={
            "csrf_token": token(browser, "/console/settings/"),
            "subject": "Subject two",
            "subject_variant_b": "Subject three",
            "ab_min_sends": "50",
        },
    )
    with Session(engine) as s:
        stage = s.get(PipelineStage, stage_id)
        assert stage is not None
        assert (stage.subject_variant_b, stage.ab_min_sends) == ("Subject three", 50)
        assert stage.ab_started_at is not None
    page = browser.get(f"/console/settings/pipelines/{pipeline_id}").text
    assert "A 0/0 (0.0%) · B 0/0 (0.0%)" in page
    assert "waiting for 50 sends per variant" in page


def test_an_admin_turns_warm_up_on_and_sees_its_progress(
    engine: Engine, browser: TestClient
) -> None:
    with Session(engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        brand_id = brand.id
    login(browser, ADMIN)
    csrf = token(browser, "/console/settings/")
    saved = browser.post(
        f"/console/settings/brands/{brand_id}",
        data={
            "csrf_token": csrf,
            "timezone": "Australia/Sydney",
            "send_window_start": "09:00",
            "send_window_end": "17:00",
            "send_days": ["0", "1", "2", "3", "4"],
            "daily_cap": "300",
            "min_gap_seconds": "30",
            "provider": "outbox",
            "warmup_enabled": "true",
            "warmup_start_cap": "30",
            "warmup_increase_percent": "25",
        },
    )
    assert "settings are saved" in saved.text
    assert "Warm-up: 30 a day, 10% of 300" in saved.text
    today = browser.get("/console/").text
    assert "warming up: 10% of 300" in today


def test_the_forecast_page_plans_a_pasted_list_and_keeps_to_the_operators_brands(
    engine: Engine, browser: TestClient
) -> None:
    with session_scope(engine) as s:
        brand, sales = pipeline(s, "codeteki", "sales")
        make_contact(s, brand=brand, email="plan@acme.example.com")
        sales_id = sales.id
    login(browser, ADMIN)
    page = browser.get(
        "/console/forecast",
        params={"pipeline": sales_id, "emails": "plan@acme.example.com\nnobody@x.example.com"},
    )
    assert page.status_code == 200
    assert "Not contacts of this brand: nobody@x.example.com" in page.text
    plan = page.text.split('class="forecast-emails"')[1].split("</table>")[0]
    # The sales sequence: Intro Sent, Follow-up 1, Follow-up 2 (a silent contact's three).
    assert [row.split("<td>")[2].split("</td>")[0] for row in plan.split("<tr>")[2:]] == [
        "Intro Sent",
        "Follow-up 1",
        "Follow-up 2",
    ]
    assert "Running campaigns: the next two weeks" in page.text
    calendar_html = page.text.split('class="calendar"')[1].split("</table>")[0]
    for stage in ("Intro Sent", "Follow-up 1", "Follow-up 2"):  # each on its day's cell
        assert calendar_html.count(f"plan@acme.example.com: {stage}</div>") == 1
    assert "style=" not in page.text.split("<main")[1]  # the CSP forbids inline styles
    browser.post("/console/logout", data={"csrf_token": token(browser)})

    login(browser, DESI_OPERATOR)  # Codeteki's pipeline is not theirs: no plan, no list
    page = browser.get(
        "/console/forecast", params={"pipeline": sales_id, "emails": "plan@acme.example.com"}
    )
    assert page.status_code == 200
    assert "forecast-emails" not in page.text
    assert "Codeteki" not in page.text.split("Running campaigns")[1]


def test_the_calendar_puts_each_email_on_the_brands_day_monday_first() -> None:
    """Weeks run Monday to Sunday; an email goes on the brand's local day (a send at 22:30 UTC
    on Tuesday is Wednesday morning in Sydney); a day's shade is how full it is of its cap."""
    days = [
        DayLoad(date(2026, 12, 2), running=0, new=0, cap=4),  # a Wednesday
        DayLoad(date(2026, 12, 3), running=1, new=1, cap=4),
        DayLoad(date(2026, 12, 4), running=3, new=1, cap=4),
        DayLoad(date(2026, 12, 7), running=0, new=1, cap=0),  # Monday, nothing allowed
    ]
    emails = [
        PlannedEmail(
            1, "a@x.example", 1, "Intro Sent", datetime(2026, 12, 1, 22, 30, tzinfo=UTC), ""
        ),
        PlannedEmail(
            1, "a@x.example", 2, "Follow-up 1", datetime(2026, 12, 3, 23, 0, tzinfo=UTC), ""
        ),
    ]
    plan = Forecast("codeteki", datetime(2026, 12, 1, tzinfo=UTC), "", emails, days)
    weeks = calendar(plan, "Australia/Sydney")
    assert len(weeks) == 2
    first, second = weeks
    assert first[:2] == [None, None]  # Monday 30 Nov and Tuesday 1 Dec are not forecast days
    wednesday, thursday, friday = first[2], first[3], first[4]
    assert wednesday is not None
    assert thursday is not None
    assert friday is not None
    assert [(t, e.stage_name) for t, e in wednesday.emails] == [("09:30", "Intro Sent")]
    assert thursday.emails == []
    assert [(t, e.stage_name) for t, e in friday.emails] == [("10:00", "Follow-up 1")]
    assert [c.level if c else None for c in first[2:5]] == ["load-0", "load-2", "load-full"]
    assert second[0] is not None
    assert second[0].level == "load-full"
    assert second[1:] == [None] * 6
