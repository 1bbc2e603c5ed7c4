"""Reusable email sequences (issue 14, item 12) end to end: built over REST, chosen at
enrolment, sent step by step with their waits (time-skipping server, SMTP wire); a running deal
keeps the steps it started with when the sequence is edited, and a new deal gets the new ones."""

from __future__ import annotations

from datetime import timedelta

from tests.api_workflows.conftest import Api
from tests.workflows.helpers import sent_logs
from tests.workflows.histories import record

DAY = timedelta(days=1)


def _step(delay: int, subject: str, body: str) -> dict[str, object]:
    return {"delay_days": delay, "subject_template": subject, "body_template": body}


def _days(logs: list) -> list[float]:  # type: ignore[type-arg]
    return [round((b.sent_at - a.sent_at) / DAY, 2) for a, b in zip(logs, logs[1:], strict=False)]


async def _enrol(api: Api, email: str, name: str, pipeline_id: int, sequence_id: int) -> int:
    contact_id = api.contact(email, brand="desifirms", name=name)
    r = await api.http.post(
        "/api/crm/deals/",
        json={"contact_id": contact_id, "pipeline_id": pipeline_id, "sequence_id": sequence_id},
    )
    assert r.status_code == 201, r.text
    assert r.json()["sequence_id"] == sequence_id
    return int(r.json()["id"])


async def test_steps_go_with_their_waits_and_running_deals_keep_their_steps(api: Api) -> None:
    api.stack.open_window("desifirms")
    pipeline_id = api.pipeline_id("desifirms", "real_estate")
    r = await api.http.post(
        "/api/crm/email-sequences/",
        json={
            "pipeline_id": pipeline_id,
            "name": "Agents, three touches",
            "steps": [
                _step(1, "Step one, {{ contact.first_name }}", "Hello from {{ brand.name }}."),
                _step(2, "Step two", "A second thought."),
                _step(4, "Step three", "<!doctype html><html><body><p>Last one.</p></body></html>"),
            ],
        },
    )
    assert r.status_code == 201, r.text
    sequence_id = r.json()["id"]
    first = await _enrol(api, "priya@realty.com.au", "Priya Sharma", pipeline_id, sequence_id)
    enrolled_at = await api.stack.env.get_current_time()

    await api.stack.env.sleep(DAY + timedelta(hours=1))
    assert [str(m["Subject"]) for m in api.stack.inbox.to("priya@realty.com.au")] == [
        "Step one, Priya"
    ]
    # The operator rewrites the sequence while Priya's deal runs.
    r = await api.http.patch(
        f"/api/crm/email-sequences/{sequence_id}/",
        json={"steps": [_step(0, "New one", "Fresh start."), _step(1, "New two", "Again.")]},
    )
    assert r.status_code == 200, r.text
    second = await _enrol(api, "raj@realty.com.au", "Raj Patel", pipeline_id, sequence_id)
    # The preview shows what Priya's deal sends next (and `send-now` would): step two of the
    # steps it started with, asked of its workflow, not the rewritten sequence's.
    r = await api.http.get(f"/api/crm/deals/{first}/preview/")
    assert r.status_code == 200, r.text
    assert r.json()["subject"] == "Step two"
    assert "A second thought." in r.json()["text"]
    assert r.json()["template_key"].startswith("sequence:")
    assert (await api.http.get(f"/api/crm/deals/{second}/preview/")).json()["subject"] == "New one"

    await api.stack.env.sleep(8 * DAY)
    priya = api.stack.inbox.to("priya@realty.com.au")
    assert [str(m["Subject"]) for m in priya] == ["Step one, Priya", "Step two", "Step three"]
    assert "Hello from Desi Firms." in priya[0].get_body(("plain",)).get_content()
    assert "Last one." in priya[2].get_body(("plain",)).get_content()
    logs = sent_logs(api.stack.engine, first)
    assert round((logs[0].sent_at - enrolled_at) / DAY, 2) == 1.0  # type: ignore[operator]
    assert _days(logs) == [2.0, 4.0]

    raj = api.stack.inbox.to("raj@realty.com.au")
    assert [str(m["Subject"]) for m in raj] == ["New one", "New two"]
    assert _days(sent_logs(api.stack.engine, second)) == [1.0]
    deal = api.deal(first)
    assert deal.sequence_id == sequence_id
    done = await api.http.get(f"/api/crm/deals/{first}/preview/")  # every step went
    assert (done.status_code, done.json()["error"]["code"]) == (409, "no_next_email")
    await record(api.stack.client.get_workflow_handle(f"deal-{first}"), "email_sequence_steps")
    assert "final follow-up expires" in deal.next_action_reason
