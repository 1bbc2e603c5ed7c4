"""A deal started with a person-written first email (the composer's `DealStart.draft_id`)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from dealpilot.rendering.renderer import (
    BrandInfo,
    ContactInfo,
    EmailContext,
    EmailRenderer,
    TemplateRenderError,
)
from dealpilot.rendering.stage_email import as_literal_template, render_draft_email
from dealpilot.temporal.deals import DealWorkflows
from models import Brand, DraftKind, DraftStatus, EmailDraft, Pipeline, session_scope
from tests.workflows.conftest import Stack
from tests.workflows.helpers import sent_logs
from workflows.contracts import DealStateView
from workflows.deal import DealWorkflow

SUBJECT = "A note for {{ contact.first_name or 'you' }} from {{ brand.name }}"
BODY = (
    "I wrote this one myself, {{ contact.first_name or 'friend' }}.\n\n"
    "Your agency {{ contact.company or 'team' }} came up this week. See https://example.org/x"
)


def composer_draft(stack: Stack, *, brand: str, pipeline: str) -> int:
    with session_scope(stack.engine) as s:
        b = s.exec(select(Brand).where(Brand.slug == brand)).one()
        p = s.exec(select(Pipeline).where(Pipeline.brand_id == b.id, Pipeline.slug == pipeline))
        draft = EmailDraft(
            kind=DraftKind.composer,
            brand_id=b.id or 0,
            pipeline_id=p.one().id,
            email_type="intro",
            recipients=["priya@sharma-realty.com.au", "raj@kumar-homes.com.au"],
            subject=SUBJECT,
            body=BODY,
            status=DraftStatus.sent,
        )
        s.add(draft)
        s.flush()
        return draft.id or 0


async def test_first_email_is_the_draft_per_contact_then_normal_followups(stack: Stack) -> None:
    stack.open_window("desifirms")
    draft_id = composer_draft(stack, brand="desifirms", pipeline="real_estate")
    starts = [
        stack.create_deal(
            "priya@sharma-realty.com.au",
            brand="desifirms",
            pipeline="real_estate",
            name="Priya Sharma",
        ),
        stack.create_deal(
            "raj@kumar-homes.com.au", brand="desifirms", pipeline="real_estate", name="Raj Kumar"
        ),
    ]
    handles = []
    for start in starts:
        handle = await DealWorkflows(stack.client, stack.task_queue).start(
            dataclasses.replace(start, draft_id=draft_id)
        )
        handles.append(handle)

    await stack.env.sleep(timedelta(hours=1))

    recipients = (("Priya", "priya@sharma-realty.com.au"), ("Raj", "raj@kumar-homes.com.au"))
    for who, address in recipients:
        (first,) = stack.inbox.to(address)
        assert first["Subject"] == f"A note for {who} from Desi Firms"
        text = first.get_body(("plain",)).get_content()
        assert f"I wrote this one myself, {who}." in text
        assert "Your agency team came up this week." in text
        html = first.get_body(("html",)).get_content()
        assert "/api/crm/track/click/" in html  # links tracked as in stage emails
        assert "/api/crm/unsubscribe/" in html  # the brand layout's footer
        assert first["List-Unsubscribe"] is not None
    state: DealStateView = await handles[0].query(DealWorkflow.state)
    assert state.stage == "Invited"
    assert state.emails_sent == 1

    # Three days without a reply: the pipeline's own Follow-up 1, not the draft again.
    await stack.env.sleep(timedelta(days=3, hours=12))
    messages = stack.inbox.to("priya@sharma-realty.com.au")
    assert len(messages) == 2
    assert "I wrote this one myself" not in messages[1].get_body(("plain",)).get_content()
    logs = sent_logs(stack.engine, starts[0].deal_id)
    assert [log.subject for log in logs][0] == "A note for Priya from Desi Firms"
    assert logs[1].subject == messages[1]["Subject"] != logs[0].subject
    state = await handles[0].query(DealWorkflow.state)
    assert state.stage == "Follow-up 1"
    with Session(stack.engine) as s:
        draft = s.get(EmailDraft, draft_id)
        assert draft is not None
        assert draft.status == DraftStatus.sent  # the composer's status, untouched


async def test_a_rejected_draft_is_never_sent(stack: Stack) -> None:
    stack.open_window("desifirms")
    draft_id = composer_draft(stack, brand="desifirms", pipeline="real_estate")
    with session_scope(stack.engine) as s:
        draft = s.get(EmailDraft, draft_id)
        assert draft is not None
        draft.status = DraftStatus.rejected
        s.add(draft)
    start = stack.create_deal(
        "priya@sharma-realty.com.au", brand="desifirms", pipeline="real_estate"
    )
    handle = await DealWorkflows(stack.client, stack.task_queue).start(
        dataclasses.replace(start, draft_id=draft_id)
    )
    await stack.env.sleep(timedelta(hours=1))

    assert stack.inbox.to("priya@sharma-realty.com.au") == []
    state: DealStateView = await handle.query(DealWorkflow.state)
    assert state.status == "paused"
    assert state.next_action_reason == "send failed: needs review"
    timeline = await handle.query(DealWorkflow.timeline)
    assert any("was rejected" in e.text for e in timeline)


def _ctx(name: str = "Priya Sharma") -> EmailContext:
    return EmailContext(
        brand=BrandInfo(slug="desifirms", name="Desi Firms", from_name="Ana"),
        contact=ContactInfo(email="priya@sharma-realty.com.au", name=name),
        unsubscribe_url="https://crm.example.test/u/1",
        tracking_pixel='<img src="https://crm.example.test/o.gif">',
    )


def test_a_draft_renders_per_contact_in_the_brand_layout() -> None:
    email = render_draft_email(EmailRenderer(), SUBJECT, BODY, _ctx())
    assert email.subject == "A note for Priya from Desi Firms"
    assert "I wrote this one myself, Priya." in email.text
    assert "https://crm.example.test/u/1" in email.html  # the layout's unsubscribe footer
    assert email.template_key == "draft"
    with pytest.raises(TemplateRenderError):
        render_draft_email(EmailRenderer(), "Hi", "{{ contact.__class__ }}", _ctx())


def test_a_stored_document_renders_as_itself_plus_the_open_pixel() -> None:
    """A reviewed stage email is stored rendered: contact data that looks like a template
    (here the name) must come out literally, not be evaluated again."""
    document = "<!DOCTYPE html><html><body><p>Hi {{ contact.nope }}</p></body></html>"
    stored = as_literal_template(document)
    email = render_draft_email(EmailRenderer(), "Subject", stored, _ctx())
    assert "<p>Hi {{ contact.nope }}</p>" in email.html
    assert email.html.index("o.gif") < email.html.index("</body>")
    assert as_literal_template("plain text") == "plain text"
