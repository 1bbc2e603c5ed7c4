"""A stage's email template edited in the console: the live preview as a chosen contact sees
it, the sandbox's refusals shown and nothing stored, and the saved text used by the stage's
next email; another brand's stage is a 404, an operator's own a 403, no token a 403."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dealpilot.rendering.renderer import EmailRenderer
from models import PipelineStage
from tests.console.data import pipeline, two_brands
from tests.console.helpers import ADMIN, DESI_OPERATOR, login, token

EDITED = (
    '{% extends "codeteki/_layout.html" %}{% block body %}'
    "<p>Edited for {{ contact.company or 'you' }}, {{ contact.first_name }}.</p>{% endblock %}"
)


def _first_stage(engine: Engine, brand: str, slug: str) -> PipelineStage:
    """The pipeline's first stage that sends a template file (the intro)."""
    with Session(engine) as s:
        _, p = pipeline(s, brand, slug)
        return s.exec(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == p.id, col(PipelineStage.template_key).is_not(None))
            .order_by(col(PipelineStage.order))
        ).first()  # type: ignore[return-value]


def _file(stage: PipelineStage) -> str:
    return EmailRenderer().template_source(stage.template_key or "")


def test_a_stage_template_is_previewed_checked_and_saved(
    browser: TestClient, engine: Engine
) -> None:
    seeded = two_brands(engine)
    stage = _first_stage(engine, "codeteki", "sales")
    assert stage.template_key  # seeded from a file
    url = f"/console/settings/stages/{stage.id}"
    login(browser, ADMIN)
    page = browser.get(url)
    assert page.status_code == 200
    assert "codeteki/_layout.html" in page.text  # the file's text, to edit
    csrf = token(browser, url)
    json = {"Accept": "application/json"}
    live = browser.post(
        f"{url}/preview",
        data={"csrf_token": csrf, "body": EDITED, "to": "cto@secret-client.com"},
        headers=json,
    ).json()
    assert live["ok"] is True
    assert live["to"] == "cto@secret-client.com"
    assert "Edited for" in live["text"]
    for broken, why in (
        ("{{ contact.no_such_field }}", "no_such_field"),
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{% if %}", "TemplateSyntaxError"),
    ):
        refused = browser.post(
            f"{url}/preview", data={"csrf_token": csrf, "body": broken}, headers=json
        )
        assert refused.status_code == 422
        assert why in refused.json()["problem"]
    stranger = browser.post(
        f"{url}/preview",
        data={"csrf_token": csrf, "body": EDITED, "to": "nobody@example.org"},
        headers=json,
    )
    assert "not a contact of Codeteki" in stranger.json()["problem"]
    # Without script, the Preview button renders the page with the unsaved text.
    shown = browser.post(f"{url}/preview", data={"csrf_token": csrf, "body": EDITED})
    assert "Edited for" in shown.text
    not_saved = browser.post(
        f"{url}/template", data={"csrf_token": csrf, "body": "<p>{{ contact.nope }}</p>"}
    )
    assert not_saved.status_code == 422
    assert "Not saved: The body is not a valid template" in not_saved.text
    assert "{{ contact.nope }}" in not_saved.text  # kept for mending
    with Session(engine) as s:
        assert s.get(PipelineStage, stage.id).template_body is None  # type: ignore[union-attr]
    saved = browser.post(f"{url}/template", data={"csrf_token": csrf, "body": EDITED})
    assert "template is saved" in saved.text
    # The stage's next email (what a send renders) is the edited one.
    next_email = browser.get(f"/console/deals/{seeded.codeteki_deal}/preview").text
    assert "Edited for" in next_email
    with Session(engine) as s:
        assert s.get(PipelineStage, stage.id).template_body == EDITED  # type: ignore[union-attr]
    # Saving the file's own text goes back to the file.
    browser.post(f"{url}/template", data={"csrf_token": csrf, "body": _file(stage)})
    with Session(engine) as s:
        assert s.get(PipelineStage, stage.id).template_body is None  # type: ignore[union-attr]


def test_stage_templates_are_scoped_and_need_a_token(browser: TestClient, engine: Engine) -> None:
    theirs = _first_stage(engine, "codeteki", "sales")
    own = _first_stage(engine, "desifirms", "real_estate")
    login(browser, DESI_OPERATOR)
    assert browser.get(f"/console/settings/stages/{theirs.id}").status_code == 404
    assert browser.get(f"/console/settings/stages/{own.id}").status_code == 403
    browser.cookies.clear()
    login(browser, ADMIN)
    refused = browser.post(f"/console/settings/stages/{own.id}/template", data={"body": "x"})
    assert refused.status_code == 403
