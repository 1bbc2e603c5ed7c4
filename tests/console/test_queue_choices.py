"""The review queue shows each draft's kind, and the composer offers a one-off email (no
follow-ups). No workflows: what the pages show and what the form stores."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from models import DraftKind, DraftStatus, EmailDraft
from tests.console.data import two_brands
from tests.console.helpers import DESI_OPERATOR, login, token


def test_the_queue_names_each_kind_and_the_composer_offers_a_one_off(
    browser: TestClient, engine: Engine
) -> None:
    seeded = two_brands(engine)
    with Session(engine) as s:
        held = s.exec(select(EmailDraft).where(EmailDraft.subject == "Desi draft")).one()
        s.add(
            EmailDraft(
                kind=DraftKind.reply,
                brand_id=held.brand_id,
                pipeline_id=held.pipeline_id,
                deal_id=seeded.desi_deal,
                subject="Re: your listing",
                body="Thanks, here is how it works.",
                status=DraftStatus.pending_review,
            )
        )
        s.commit()
    login(browser, DESI_OPERATOR)
    queue = browser.get("/console/review").text
    assert "2 waiting" in queue
    assert "held email" in queue
    assert "suggested reply" in queue
    assert "Re: your listing" in queue

    form = browser.get("/console/composer/").text
    assert "one-off (no follow-ups)" in form
    page = browser.post(
        "/console/composer/",
        data={
            "csrf_token": token(browser),
            "target": "desifirms/real_estate",
            "email_type": "intro",
            "tone": "friendly",
            "addresses": "priya@sharma-realty.com.au",
            "by_hand": "true",
            "subject": "News from {{ brand.name }}",
            "body": "We moved to a new office.",
            "one_off": "true",
        },
    )
    assert page.status_code == 200
    with Session(engine) as s:
        draft = s.exec(select(EmailDraft).where(EmailDraft.kind == DraftKind.composer)).one()
    assert (draft.subject, draft.one_off) == ("News from {{ brand.name }}", True)
