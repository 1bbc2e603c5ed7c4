"""A one-off composer email (an announcement): each recipient gets it once, with the guards of
every send, and no follow-up ever comes after it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api_workflows.conftest import Api
from tests.composer.test_flow import DRAFTS, _draft
from workflows.deal import DealWorkflow

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(180)]


async def test_a_one_off_email_goes_once_and_nothing_follows(api: Api) -> None:
    stack = api.stack
    stack.open_window("codeteki")
    draft = await _draft(
        api, "Priya <priya@sharma-realty.com.au>, raj@kumar-homes.com.au", one_off=True
    )
    assert draft["one_off"] is True
    r = await api.http.post(f"{DRAFTS}{draft['id']}/send")
    assert r.status_code == 200, r.text
    deals = [d["deal_id"] for d in r.json()["outcome"]["deals"]]
    assert len(deals) == 2

    await stack.env.sleep(timedelta(hours=1))
    assert len(stack.inbox.to("priya@sharma-realty.com.au")) == 1
    assert len(stack.inbox.to("raj@kumar-homes.com.au")) == 1
    mail = stack.inbox.to("priya@sharma-realty.com.au")[0]
    assert "/api/crm/unsubscribe/" in str(mail["List-Unsubscribe"])

    # Well past every follow-up of the pipeline: nothing more is sent, nothing is planned.
    await stack.env.sleep(timedelta(days=30))
    assert len(stack.inbox.messages) == 2
    for deal_id in deals:
        handle = stack.client.get_workflow_handle_for(DealWorkflow.run, f"deal-{deal_id}")
        state = await handle.query(DealWorkflow.state)
        assert state.next_action_at is None
        assert state.next_action_reason == "one-off email: no follow-ups"
        assert state.emails_sent == 1
        assert state.status == "active"  # still open: a reply is read as for any deal
