"""Email sequences and tier templates over REST (issue 14, items 10 and 12): validated writes
(the send's sandbox), 4xx for bad input, one default per pipeline, enrolment choosing one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from dealpilot.composer.rules import sample_context
from dealpilot.deals.content import render_step
from dealpilot.rendering.context import BrandInfo
from dealpilot.rendering.renderer import EmailRenderer
from models import Deal
from tests.api.helpers import assert_error
from tests.factories import make_brand, make_contact, make_pipeline, stages_of

STEPS = [
    {"delay_days": 0, "subject_template": "Hi {{ contact.first_name }}", "body_template": "One"},
    {"delay_days": 3, "subject_template": "Again", "body_template": "Two {{ brand.name }}"},
]


def test_sequence_create_update_delete_with_validation(
    client: TestClient, session: Session
) -> None:
    brand = make_brand(session)
    pipeline = make_pipeline(session, brand=brand)
    body = {"pipeline_id": pipeline.id, "name": "Short", "steps": STEPS, "is_default": True}
    r = client.post("/api/crm/email-sequences/", json=body)
    assert r.status_code == 201, r.text
    seq = r.json()
    assert [(s["order"], s["delay_days"]) for s in seq["steps"]] == [(0, 0), (1, 3)]
    assert seq["is_default"] is True

    # A second default takes over: one per pipeline.
    r = client.post("/api/crm/email-sequences/", json={**body, "name": "Long"})
    assert r.status_code == 201, r.text
    listed = client.get(f"/api/crm/email-sequences/?pipeline={pipeline.id}").json()
    assert [(s["name"], s["is_default"]) for s in listed] == [("Short", False), ("Long", True)]

    bad_template = [{**STEPS[0], "body_template": "{{ contact.nope.deeper }}"}]
    err = assert_error(
        client.post("/api/crm/email-sequences/", json={**body, "steps": bad_template}),
        422,
        "template_error",
    )
    assert err["details"][0]["field"] == "steps.0"
    assert_error(client.post("/api/crm/email-sequences/", json={**body, "steps": []}), 422)
    negative = [{**STEPS[0], "delay_days": -1}]
    assert_error(client.post("/api/crm/email-sequences/", json={**body, "steps": negative}), 422)
    missing = {**body, "pipeline_id": 9999}
    assert_error(client.post("/api/crm/email-sequences/", json=missing), 422, "invalid_reference")

    url = f"/api/crm/email-sequences/{seq['id']}/"
    r = client.patch(url, json={"steps": [STEPS[1]], "name": "Shorter"})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], len(r.json()["steps"])) == ("Shorter", 1)
    assert r.json()["steps"][0]["body_template"] == "Two {{ brand.name }}"
    assert_error(client.patch(url, json={"steps": bad_template}), 422, "template_error")
    assert client.delete(url).status_code == 204
    assert_error(client.get(url), 404, "not_found")
    assert_error(client.delete(url), 404, "not_found")


def test_enrolment_takes_the_chosen_or_the_default_sequence(
    client: TestClient, session: Session
) -> None:
    brand = make_brand(session)
    pipeline = make_pipeline(session, brand=brand)
    other = make_pipeline(session, brand=brand)
    base = {"pipeline_id": pipeline.id, "steps": STEPS}
    default = client.post(
        "/api/crm/email-sequences/", json={**base, "name": "D", "is_default": True}
    )
    chosen = client.post("/api/crm/email-sequences/", json={**base, "name": "C"})
    foreign = client.post(
        "/api/crm/email-sequences/", json={**base, "pipeline_id": other.id, "name": "F"}
    )
    first, second, third = (make_contact(session, brand=brand) for _ in range(3))

    r = client.post("/api/crm/deals/", json={"contact_id": first.id, "pipeline_id": pipeline.id})
    assert r.status_code == 201, r.text
    assert r.json()["sequence_id"] == default.json()["id"]
    r = client.post(
        "/api/crm/deals/",
        json={
            "contact_id": second.id,
            "pipeline_id": pipeline.id,
            "sequence_id": chosen.json()["id"],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["sequence_id"] == chosen.json()["id"]
    r = client.post(
        "/api/crm/deals/",
        json={
            "contact_id": third.id,
            "pipeline_id": pipeline.id,
            "sequence_id": foreign.json()["id"],
        },
    )
    assert_error(r, 422, "invalid_sequence")
    r = client.post(
        "/api/crm/deals/bulk/",
        json={
            "pipeline_id": pipeline.id,
            "contact_ids": [third.id],
            "sequence_id": chosen.json()["id"],
        },
    )
    assert r.status_code in (200, 201, 202), r.text
    deals = session.exec(select(Deal).where(Deal.contact_id == third.id)).all()
    assert [d.sequence_id for d in deals] == [chosen.json()["id"]]


def test_tier_templates_are_validated_listed_and_deleted(
    client: TestClient, session: Session
) -> None:
    brand = make_brand(session, slug="codeteki")
    pipeline = make_pipeline(session, brand=brand)
    stage = next(iter(stages_of(session, pipeline).values()))
    url = f"/api/crm/stages/{stage.id}/tier-templates/"
    body = {"subject": "Quick one", "template_body": "<p>Short, {{ contact.first_name }}.</p>"}
    r = client.put(f"{url}cold/", json=body)
    assert r.status_code == 200, r.text
    assert (r.json()["tier"], r.json()["subject"]) == ("cold", "Quick one")
    r = client.put(f"{url}cold/", json={**body, "subject": None})
    assert r.status_code == 200, r.text
    assert r.json()["subject"] is None  # replaced, not added
    assert [t["tier"] for t in client.get(url).json()] == ["cold"]

    err = assert_error(
        client.put(f"{url}lurker/", json={"template_body": "{% for %}"}), 422, "template_error"
    )
    assert err["details"][0]["field"] == "body"
    bad_subject = {"subject": "{{ nope }}", "template_body": "<p>x</p>"}
    err = assert_error(client.put(f"{url}lurker/", json=bad_subject), 422, "template_error")
    assert err["details"][0]["field"] == "subject"
    assert_error(client.put(f"{url}chilly/", json=body), 422)
    assert_error(client.put(f"{url}cold/", json={"template_body": ""}), 422)
    assert_error(client.put("/api/crm/stages/9999/tier-templates/cold/", json=body), 404)

    assert client.delete(f"{url}cold/").status_code == 204
    assert client.get(url).json() == []
    assert_error(client.delete(f"{url}cold/"), 404, "not_found")


def test_a_step_body_may_be_a_template_file_a_layout_template_or_message_text() -> None:
    renderer = EmailRenderer()
    brand = BrandInfo(slug="desifirms", name="Desi Firms", from_name="Desi Firms")
    ctx = sample_context(brand, unsubscribe_url="https://x.test/u")
    from_file = render_step(renderer, "Hi", "desifirms/real_estate/invited", ctx)
    assert from_file.html == renderer.render_stage("desifirms/real_estate/invited", "Hi", ctx).html
    layout = (
        '{% extends "desifirms/_layout.html" %}'
        "{% block body %}<p>Own {{ brand.name }}</p>{% endblock %}"
    )
    assert "Own Desi Firms" in render_step(renderer, "Hi", layout, ctx).text
    text = render_step(renderer, "Hi", "Plain words for {{ contact.first_name }}.", ctx).text
    assert "Plain words for" in text
    assert "https://x.test/u" in render_step(renderer, "Hi", "Plain.", ctx).html
