"""The composer end to end on real workflows (time-skipping Temporal server, worker, SMTP
inbox): draft -> schedule -> the scheduled-drafts job releases it -> the deals are created and
each deal's workflow sends the composed email to its own recipient; later the pipeline's own
follow-up. Also: send now, never twice, and deals whose workflow did not start."""

from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from dealpilot.composer.sending import enrol_draft
from models import (
    Contact,
    Deal,
    DraftStatus,
    EmailDraft,
    Suppression,
    SuppressionReason,
    session_scope,
)
from tests.api_workflows.conftest import Api
from tests.workflows.helpers import sent_logs
from workflows.deal import DealWorkflow
from workflows.jobs import DueDraftsReport, JobInput, ScheduledDraftsWorkflow

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(180)]

DRAFTS = "/api/crm/composer/drafts/"
SUBJECT = "{{ contact.first_name or 'Hello' }}, a quick note from {{ brand.name }}"
BODY = (
    "I wrote this for {{ contact.company or 'your team' }}, "
    "{{ contact.first_name or 'friend' }}.\n\nReply with a good time and I will bring two ideas."
)


async def _release(api: Api) -> DueDraftsReport:
    report: DueDraftsReport = await api.stack.client.execute_workflow(
        ScheduledDraftsWorkflow.run,
        JobInput(),
        id=f"scheduled-drafts-{uuid.uuid4().hex[:6]}",
        task_queue=api.stack.task_queue,
        result_type=DueDraftsReport,
    )
    return report


def _suppress(api: Api, email: str, *, brand: str) -> None:
    with session_scope(api.stack.engine) as s:
        s.add(
            Suppression(
                brand_id=api.stack.brand(brand).id or 0,
                email=email,
                reason=SuppressionReason.unsubscribed,
            )
        )


async def _draft(api: Api, addresses: str, **fields: object) -> dict[str, object]:
    r = await api.http.post(
        DRAFTS,
        json={
            "brand": "codeteki",
            "pipeline": "sales",
            "email_type": "intro",
            "tone": "friendly",
            "ai": False,
            "subject": SUBJECT,
            "body": BODY,
            "addresses": addresses,
            **fields,
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_scheduled_draft_is_released_and_each_deal_sends_it(api: Api) -> None:
    stack = api.stack
    stack.open_window("codeteki")
    with session_scope(stack.engine) as s:
        s.add(
            Contact(
                brand_id=stack.brand("codeteki").id or 0,
                email="priya@sharma-realty.com.au",
                name="Priya Sharma",
                company="Sharma Realty",
            )
        )
    _suppress(api, "gone@unsubscribed.com.au", brand="codeteki")
    draft = await _draft(
        api,
        "Priya <priya@sharma-realty.com.au>; Raj Kumar <raj@kumar-homes.com.au>\n"
        "gone@unsubscribed.com.au, PRIYA@sharma-realty.com.au",
    )

    # Two hours after the job's clock (which tests skip ahead), on Sydney's wall clock.
    server_now = await stack.env.get_current_time()
    local = (server_now + timedelta(hours=2)).astimezone(ZoneInfo("Australia/Sydney"))
    r = await api.http.post(
        f"{DRAFTS}{draft['id']}/schedule",
        json={"at": local.replace(tzinfo=None, second=0, microsecond=0).isoformat()},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "scheduled"
    assert r.json()["recipients"] == [  # the repeated address was dropped when saved
        "Priya <priya@sharma-realty.com.au>",
        "Raj Kumar <raj@kumar-homes.com.au>",
        "gone@unsubscribed.com.au",
    ]

    early = await _release(api)
    assert early.drafts == []
    assert stack.inbox.messages == []

    await stack.env.sleep(timedelta(hours=2, minutes=5))
    report = await _release(api)
    assert report.drafts == [draft["id"]]
    assert len(report.deals_started) == 2
    again = await _release(api)  # the next tick finds nothing left to send
    assert (again.drafts, again.deals_started) == ([], [])

    await stack.env.sleep(timedelta(hours=1))
    (to_priya,) = stack.inbox.to("priya@sharma-realty.com.au")
    (to_raj,) = stack.inbox.to("raj@kumar-homes.com.au")
    assert to_priya["Subject"] == "Priya, a quick note from Codeteki"
    assert to_raj["Subject"] == "Raj, a quick note from Codeteki"
    priya_text = to_priya.get_body(("plain",)).get_content()
    assert "I wrote this for Sharma Realty, Priya." in priya_text
    assert "I wrote this for your team, Raj." in to_raj.get_body(("plain",)).get_content()
    assert "/api/crm/unsubscribe/" in to_priya.get_body(("html",)).get_content()
    assert stack.inbox.to("gone@unsubscribed.com.au") == []
    assert len(stack.inbox.messages) == 2

    got = (await api.http.get(f"{DRAFTS}{draft['id']}")).json()
    assert got["status"] == "sent"
    assert got["sent_at"] is not None
    outcome = got["outcome"]
    assert sorted(d["email"] for d in outcome["deals"]) == [
        "priya@sharma-realty.com.au",
        "raj@kumar-homes.com.au",
    ]
    assert all(d["workflow_id"] == f"deal-{d['deal_id']}" for d in outcome["deals"])
    assert (outcome["workflows_started"], outcome["workflows_pending"]) == (2, 0)
    assert [(s["email"], s["reason"]) for s in outcome["skipped"]] == [
        ("gone@unsubscribed.com.au", "suppressed"),
    ]
    with Session(stack.engine) as s:
        raj = s.exec(select(Contact).where(Contact.email == "raj@kumar-homes.com.au")).one()
        assert (raj.name, raj.source) == ("Raj Kumar", "composer")
        assert (
            s.exec(select(Contact).where(Contact.email == "gone@unsubscribed.com.au")).all() == []
        )

    # Three days on with no reply: the pipeline's own Follow-up 1, not the draft again.
    await stack.env.sleep(timedelta(days=3, hours=12))
    messages = stack.inbox.to("priya@sharma-realty.com.au")
    assert len(messages) == 2
    assert messages[1]["Subject"] == "What an AI assistant could do for Sharma Realty"
    assert "I wrote this" not in messages[1].get_body(("plain",)).get_content()
    priya_deal = next(
        d["deal_id"] for d in outcome["deals"] if d["email"] == "priya@sharma-realty.com.au"
    )
    assert [log.subject for log in sent_logs(stack.engine, priya_deal)] == [
        "Priya, a quick note from Codeteki",
        "What an AI assistant could do for Sharma Realty",
    ]
    state = await stack.client.get_workflow_handle_for(
        DealWorkflow.run, f"deal-{priya_deal}"
    ).query(DealWorkflow.state)
    assert state.stage == "Follow-up 1"


async def test_send_now_once_and_deals_left_without_a_workflow_are_started(api: Api) -> None:
    stack = api.stack
    stack.open_window("codeteki")
    first = await _draft(api, "mai@pho-house.com.au")
    r = await api.http.post(f"{DRAFTS}{first['id']}/send")
    assert r.status_code == 200, r.text
    sent = r.json()
    assert sent["status"] == "sent"
    assert sent["outcome"]["workflows_started"] == 1
    r = await api.http.post(f"{DRAFTS}{first['id']}/send")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "draft_already_sent")
    r = await api.http.post(f"{DRAFTS}{first['id']}/schedule", json={"at": "2099-01-01T09:00"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "draft_not_editable")

    # A send whose transaction committed but whose workflows never started (the process
    # died, or Temporal was down): the scheduled-drafts job starts them with the draft.
    second = await _draft(
        api, "Lee <lee@noodle-bar.com.au>", subject="For {{ contact.first_name }}"
    )
    with session_scope(stack.engine) as s:
        (deal_id,) = enrol_draft(s, int(str(second["id"]))) or []
    pending = (await api.http.get(f"{DRAFTS}{second['id']}")).json()["outcome"]
    assert pending["workflows_pending"] == 1
    report = await _release(api)
    assert report.deals_started == [deal_id]

    await stack.env.sleep(timedelta(hours=1))
    (to_mai,) = stack.inbox.to("mai@pho-house.com.au")
    assert to_mai["Subject"] == "Mai, a quick note from Codeteki"
    (to_lee,) = stack.inbox.to("lee@noodle-bar.com.au")
    assert to_lee["Subject"] == "For Lee"
    done = (await api.http.get(f"{DRAFTS}{second['id']}")).json()["outcome"]
    assert (done["workflows_started"], done["workflows_pending"]) == (1, 0)
    with Session(stack.engine) as s:
        assert s.get(Deal, deal_id).workflow_id == f"deal-{deal_id}"  # type: ignore[union-attr]
        assert s.get(EmailDraft, second["id"]).status == DraftStatus.sent  # type: ignore[union-attr]
