"""Today, the board and the deal page over HTTP: what each role sees, brand isolation,
escaping, paging and the number of queries per page."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from models import AIPromptTemplate, Deal
from tests.console.data import pipeline, two_brands
from tests.console.helpers import ADMIN, DESI_OPERATOR, login, token
from tests.factories import make_contact, make_deal, make_email_log


def test_an_operator_sees_only_their_brands(browser: TestClient, engine: Engine) -> None:
    seeded = two_brands(engine)
    login(browser, DESI_OPERATOR)
    today = browser.get("/console/").text
    assert "Desi draft" in today
    assert "Desi unknown send" in today
    assert "Codeteki draft" not in today
    assert "Codeteki failed send" not in today
    assert "stranger@codeteki-only.com" not in today
    assert "Codeteki" not in today.split("The day so far")[1].split("</table>")[0]

    # Another brand's objects are a 404, exactly like objects that do not exist.
    for page in (
        f"/console/deals/{seeded.codeteki_deal}",
        f"/console/board?pipeline={seeded.codeteki_pipeline}",
    ):
        assert browser.get(page).status_code == 404
    assert browser.get("/console/deals/999999").status_code == 404
    csrf = token(browser)
    for action in ("pause", "move", "value"):
        answer = browser.post(
            f"/console/deals/{seeded.codeteki_deal}/{action}",
            data={"csrf_token": csrf, "stage_id": "1", "value": "5"},
        )
        assert answer.status_code == 404
    bulk = browser.post(
        "/console/board/bulk",
        data={"csrf_token": csrf, "action": "pause", "deal_ids": [str(seeded.codeteki_deal)]},
    )
    assert bulk.status_code == 404
    board = browser.get("/console/board").text  # defaults to a pipeline of their own
    assert "agent@realty.com.au" not in board  # a name is shown, not the address
    assert "Codeteki" not in board


def test_the_review_queue_lists_only_the_operators_brands(
    browser: TestClient, engine: Engine
) -> None:
    two_brands(engine)
    login(browser, DESI_OPERATOR)
    queue = browser.get("/console/review").text
    assert "1 waiting" in queue
    assert "Desi draft" in queue
    assert "Codeteki draft" not in queue
    assert 'data-shortcut="a"' in queue


def test_an_admin_sees_every_brand(browser: TestClient, engine: Engine) -> None:
    seeded = two_brands(engine)
    login(browser, ADMIN)
    today = browser.get("/console/").text
    assert "Codeteki draft" in today
    assert "Desi draft" in today
    assert "stranger@codeteki-only.com" in today
    assert browser.get(f"/console/deals/{seeded.codeteki_deal}").status_code == 200
    assert browser.get(f"/console/deals/{seeded.desi_deal}").status_code == 200


def test_a_contact_named_script_renders_as_text(browser: TestClient, engine: Engine) -> None:
    seeded = two_brands(engine)
    login(browser, DESI_OPERATOR)
    for page in (
        f"/console/deals/{seeded.desi_deal}",
        f"/console/board?pipeline={seeded.desi_pipeline}",
    ):
        html = browser.get(page).text
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_deal_page_says_when_the_workflow_cannot_be_asked(
    browser: TestClient, engine: Engine
) -> None:
    seeded = two_brands(engine)
    login(browser, ADMIN)
    page = browser.get(f"/console/deals/{seeded.desi_deal}")
    assert page.status_code == 200
    assert "has not started" in page.text  # no workflow id, no Temporal: no traceback
    # An action that needs Temporal: a clear page, nothing changed.
    answer = browser.post(
        f"/console/deals/{seeded.desi_deal}/pause", data={"csrf_token": token(browser)}
    )
    assert answer.status_code == 200  # back on the deal page, which says why
    assert "Not done:" in answer.text
    assert "Temporal" in answer.text
    assert "Traceback" not in answer.text


def test_the_value_is_edited_on_the_deal_page(browser: TestClient, engine: Engine) -> None:
    seeded = two_brands(engine)
    login(browser, DESI_OPERATOR)
    csrf = token(browser)
    page = browser.post(
        f"/console/deals/{seeded.desi_deal}/value", data={"csrf_token": csrf, "value": "1250.5"}
    )
    assert "value is now 1250.50" in page.text
    bad = browser.post(
        f"/console/deals/{seeded.desi_deal}/value", data={"csrf_token": csrf, "value": "lots"}
    )
    assert "is not an amount" in bad.text


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _add_deals(engine: Engine, n: int) -> int:
    with Session(engine) as s:
        brand, estate = pipeline(s, "desifirms", "real_estate")
        for i in range(n):
            contact = make_contact(s, brand=brand, email=f"p{i}-{n}@realty.com.au", name=f"P{i}")
            make_deal(s, contact=contact, pipeline=estate)
        return estate.id or 0


def test_board_pages_its_columns_and_costs_the_same_queries_for_more_deals(
    browser: TestClient, engine: Engine
) -> None:
    login(browser, DESI_OPERATOR)
    estate = _add_deals(engine, 3)
    with counting(engine) as few:
        assert browser.get(f"/console/board?pipeline={estate}").status_code == 200
    _add_deals(engine, 60)
    with counting(engine) as many:
        page = browser.get(f"/console/board?pipeline={estate}")
    assert len(many) == len(few)
    assert "1–25 of 63" in page.text
    assert page.text.count('class="card deal"') == 25
    stage_id = page.text.split('data-stage="')[1].split('"')[0]
    second = browser.get(f"/console/board?pipeline={estate}&o{stage_id}=25").text
    assert "26–50 of 63" in second
    filtered = browser.get(f"/console/board?pipeline={estate}&q=p7-60").text
    assert "1–1 of 1" in filtered


def test_today_costs_the_same_queries_for_more_work(browser: TestClient, engine: Engine) -> None:
    login(browser, ADMIN)
    two_brands(engine)
    with counting(engine) as few:
        browser.get("/console/")
    _add_deals(engine, 30)
    with counting(engine) as many:
        browser.get("/console/")
    assert len(many) == len(few)


def test_settings_are_for_admins(browser: TestClient, engine: Engine) -> None:
    login(browser, DESI_OPERATOR)
    assert browser.get("/console/settings/").status_code == 403
    csrf = token(browser)
    refused = browser.post(
        "/console/settings/users",
        data={"csrf_token": csrf, "email": "x@example.com", "password": "p" * 12, "role": "admin"},
    )
    assert refused.status_code == 403


def test_an_admin_adds_a_user_and_changes_a_brand(browser: TestClient) -> None:
    login(browser, ADMIN)
    page = browser.get("/console/settings/")
    assert DESI_OPERATOR in page.text
    # The API keys are shown by fingerprint, never themselves.
    assert hashlib.sha256(b"k-console").hexdigest()[:12] in page.text
    assert "k-console" not in page.text
    csrf = token(browser, "/console/settings/")
    made = browser.post(
        "/console/settings/users",
        data={
            "csrf_token": csrf,
            "email": "new@codeteki.com.au",
            "password": "a-long-password",
            "role": "operator",
            "brands": ["codeteki"],
        },
    )
    assert "new@codeteki.com.au can sign in now." in made.text
    self_lockout = browser.post(
        "/console/settings/users/1", data={"csrf_token": csrf, "role": "operator"}
    )
    assert "You cannot demote or deactivate yourself" in self_lockout.text
    brand = browser.post(
        "/console/settings/brands/1",
        data={
            "csrf_token": csrf,
            "timezone": "Australia/Perth",
            "send_window_start": "10:00",
            "send_window_end": "09:00",
            "daily_cap": "50",
            "min_gap_seconds": "60",
            "provider": "outbox",
            "send_days": ["0", "1"],
        },
    )
    assert "Not saved: The send window must start before it ends" in brand.text
    assert 'value="Australia/Perth"' not in brand.text  # nothing of it was stored
    brand = browser.post(
        "/console/settings/brands/1",
        data={
            "csrf_token": csrf,
            "timezone": "Australia/Perth",
            "send_window_start": "08:00",
            "send_window_end": "16:00",
            "daily_cap": "50",
            "min_gap_seconds": "60",
            "provider": "outbox",
            "send_days": ["0", "1"],
        },
    )
    assert "settings are saved" in brand.text
    assert 'value="Australia/Perth"' in brand.text


def test_an_admin_edits_a_stages_cadence_and_subjects(browser: TestClient, engine: Engine) -> None:
    with Session(engine) as s:
        _brand, sales = pipeline(s, "codeteki", "sales")
        pipeline_id = sales.id
    login(browser, ADMIN)
    page = browser.get(f"/console/settings/pipelines/{pipeline_id}")
    assert page.status_code == 200
    stage_id = page.text.split('action="/console/settings/stages/')[1].split('"')[0]
    csrf = token(browser, "/console/settings/")
    broken = browser.post(
        f"/console/settings/stages/{stage_id}",
        data={"csrf_token": csrf, "days_until_followup": "4", "subject": "Hi {{ contact.first"},
    )
    assert "Not saved: The subject is not a valid template" in broken.text
    saved = browser.post(
        f"/console/settings/stages/{stage_id}",
        data={
            "csrf_token": csrf,
            "days_until_followup": "4",
            "subject": "Hi {{ contact.first_name }}",
            "subject_variant_b": "A question, {{ contact.first_name }}",
        },
    )
    assert "is saved" in saved.text
    assert 'value="A question, {{ contact.first_name }}"' in saved.text


def test_an_admin_edits_a_prompt_checked_first(browser: TestClient, engine: Engine) -> None:
    with Session(engine) as s:
        prompt = s.exec(select(AIPromptTemplate).order_by(col(AIPromptTemplate.id))).first()
        assert prompt is not None  # seeded
        prompt_id, original = prompt.id, prompt.prompt_text
    login(browser, ADMIN)
    assert "AI prompts" in browser.get("/console/settings/prompts").text
    csrf = token(browser, "/console/settings/prompts")
    broken = browser.post(
        f"/console/settings/prompts/{prompt_id}",
        data={"csrf_token": csrf, "prompt_text": "[[system]]\nHi {% if %}\n[[user]]\nx"},
    )
    assert "Not saved: The prompt does not render" in broken.text
    text = "[[system]]\nBe brief.\n[[user]]\nAbout {{ contact_name }}"
    saved = browser.post(
        f"/console/settings/prompts/{prompt_id}",
        data={"csrf_token": csrf, "prompt_text": text, "active": "true"},
    )
    assert "is saved" in saved.text
    with Session(engine) as s:
        stored = s.get(AIPromptTemplate, prompt_id)
        assert stored is not None
        assert stored.prompt_text == text != original


def test_the_deal_page_costs_the_same_queries_for_more_emails(
    browser: TestClient, engine: Engine
) -> None:
    seeded = two_brands(engine)
    login(browser, ADMIN)
    with counting(engine) as few:
        browser.get(f"/console/deals/{seeded.desi_deal}")
    with Session(engine) as s:
        deal = s.get(Deal, seeded.desi_deal)
        assert deal is not None
        for _ in range(20):
            make_email_log(s, deal=deal)
    with counting(engine) as many:
        page = browser.get(f"/console/deals/{seeded.desi_deal}")
    assert len(many) == len(few)
    assert page.text.count('<details class="card">') == 21
