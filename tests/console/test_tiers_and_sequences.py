"""Issue 14 items 10-12 in the console (HTTP, no browser): a stage's email per tier edited with
the sandbox's checks, email sequences built and edited by an admin, enrolment with a chosen
sequence, and the tier actions' preview (how many deals and which) in the operator's brands."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models import (
    Deal,
    EmailSequence,
    EngagementTier,
    PipelineStage,
    SequenceStep,
    StageTierTemplate,
    session_scope,
)
from tests.console.data import pipeline, two_brands
from tests.console.helpers import ADMIN, DESI_OPERATOR, login, token

COLD = (
    '{% extends "codeteki/_layout.html" %}{% block body %}'
    "<p>Short one for {{ contact.first_name }}.</p>{% endblock %}"
)


def _follow_up(engine: Engine) -> PipelineStage:
    with Session(engine) as s:
        _, p = pipeline(s, "codeteki", "sales")
        return s.exec(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == p.id, PipelineStage.kind == "sequence")
            .order_by(col(PipelineStage.order).desc())
        ).first()  # type: ignore[return-value]


def test_a_stage_email_per_tier_is_checked_saved_and_removed(
    browser: TestClient, engine: Engine
) -> None:
    stage = _follow_up(engine)
    url = f"/console/settings/stages/{stage.id}"
    login(browser, ADMIN)
    page = browser.get(f"{url}?tier=warm")
    assert page.status_code == 200
    assert "None yet: warm deals get the stage's own email" in page.text
    csrf = token(browser, url)

    refused = browser.post(
        f"{url}/tier/warm", data={"csrf_token": csrf, "body": "{{ contact.nope }}", "subject": ""}
    )
    assert refused.status_code == 422
    assert "Not saved" in refused.text
    saved = browser.post(
        f"{url}/tier/warm",
        data={"csrf_token": csrf, "body": COLD, "subject": "Short, {{ contact.first_name }}"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    with Session(engine) as s:
        row = s.exec(
            select(StageTierTemplate).where(
                StageTierTemplate.stage_id == stage.id, StageTierTemplate.tier == "warm"
            )
        ).one()
        assert (row.subject, row.template_body) == ("Short, {{ contact.first_name }}", COLD)
    shown = browser.get(f"{url}?tier=warm")
    assert "Short one for" in shown.text  # the saved text, to edit again
    removed = browser.post(
        f"{url}/tier/warm/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert removed.status_code == 303
    with Session(engine) as s:
        tiers = s.exec(
            select(StageTierTemplate.tier).where(StageTierTemplate.stage_id == stage.id)
        ).all()
    assert sorted(tiers) == ["cold", "lurker"]  # the seeded ones stay


def test_an_admin_builds_and_edits_a_sequence(browser: TestClient, engine: Engine) -> None:
    with Session(engine) as s:
        _, sales = pipeline(s, "codeteki", "sales")
    login(browser, ADMIN)
    home = "/console/settings/sequences/"
    assert browser.get(home).status_code == 200
    csrf = token(browser, home)
    form = {
        "csrf_token": csrf,
        "pipeline_id": str(sales.id),
        "name": "Two quick notes",
        "is_default": "true",
        "delay_days": ["0", "4", "3"],
        "subject": ["Hello {{ contact.first_name }}", "Again", ""],
        "body": ["First.", "Second.", ""],
    }
    created = browser.post(home, data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    with Session(engine) as s:
        seq = s.exec(select(EmailSequence).where(EmailSequence.name == "Two quick notes")).one()
        steps = s.exec(
            select(SequenceStep.delay_days, SequenceStep.subject_template)
            .where(SequenceStep.sequence_id == seq.id)
            .order_by(col(SequenceStep.order))
        ).all()
    assert (seq.is_default, [tuple(r) for r in steps]) == (
        True,
        [(0, "Hello {{ contact.first_name }}"), (4, "Again")],
    )
    bad = {**form, "subject": ["{{ contact.nope }}", "", ""], "body": ["x", "", ""]}
    refused = browser.post(f"{home}{seq.id}", data={**bad, "name": "Two"}, follow_redirects=True)
    assert "Not saved" in refused.text
    edited = {**form, "name": "Three", "is_active": "true", "delay_days": ["1", "2", "5"]}
    edited["subject"], edited["body"] = ["A", "B", "C"], ["a", "b", "c"]
    assert browser.post(f"{home}{seq.id}", data=edited, follow_redirects=False).status_code == 303
    with Session(engine) as s:
        delays = s.exec(
            select(SequenceStep.delay_days)
            .where(SequenceStep.sequence_id == seq.id)
            .order_by(col(SequenceStep.order))
        ).all()
        assert (s.get(EmailSequence, seq.id).name, list(delays)) == ("Three", [1, 2, 5])  # type: ignore[union-attr]

    # Enrolment with the sequence chosen, from a contact's page (Temporal not configured here:
    # the deal is saved, its start waits).
    seeded = two_brands(engine)
    with Session(engine) as s:
        contact_id = s.get(Deal, seeded.codeteki_deal).contact_id  # type: ignore[union-attr]
    page = browser.get(f"/console/contacts/{contact_id}")
    assert "Three (Codeteki" in page.text
    enrolled = browser.post(
        f"/console/contacts/{contact_id}/enrol",
        data={"csrf_token": csrf, "pipeline_id": str(sales.id), "sequence_id": str(seq.id)},
        follow_redirects=False,
    )
    assert enrolled.status_code == 303, enrolled.text
    # The seeded deal is open in this pipeline: refused, nothing added.
    with Session(engine) as s:
        assert len(s.exec(select(Deal).where(Deal.contact_id == contact_id)).all()) == 1
    assert (
        browser.post(
            f"{home}{seq.id}/delete", data={"csrf_token": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    with Session(engine) as s:
        assert s.get(EmailSequence, seq.id) is None


def test_tier_action_previews_show_only_the_operators_brands(
    browser: TestClient, engine: Engine
) -> None:
    seeded = two_brands(engine)
    with session_scope(engine) as s:
        for deal_id in (seeded.codeteki_deal, seeded.desi_deal):
            deal = s.get(Deal, deal_id)
            assert deal is not None
            deal.engagement_tier, deal.workflow_id = EngagementTier.ghost, f"deal-{deal_id}"
            s.add(deal)
    login(browser, DESI_OPERATOR)
    page = browser.get("/console/tiers/archive_ghosts")
    assert page.status_code == 200
    assert "<strong>1</strong> deal of the" in page.text
    assert f'name="deal_ids" value="{seeded.desi_deal}"' in page.text
    assert f'value="{seeded.codeteki_deal}"' not in page.text
    assert "secret-client" not in page.text
    listing = browser.get("/console/tiers/")
    assert "Archive all ghosts" in listing.text
