"""Replies as a person sees them with the deals' workflows running: a reply read with low
confidence waits for a person instead of acting; a stop request goes through the compliance
net; the new intents do what they say."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select
from temporalio.client import WorkflowHandle

from models import AIDecisionLog, Suppression
from tests.api_workflows.conftest import Api
from workflows.contracts import ReplyEvent
from workflows.deal import DealWorkflow

DAY = timedelta(days=1)


async def _emailed_deal(api: Api, email: str) -> tuple[int, WorkflowHandle[Any, Any]]:
    api.stack.open_window("codeteki")
    deal_id, handle = await api.stack.enrol(email, brand="codeteki", pipeline="sales")
    await api.stack.env.sleep(timedelta(hours=1))
    assert len(api.stack.inbox.to(email)) == 1
    return deal_id, handle


async def test_a_doubtful_reading_waits_for_a_person_with_the_reading_shown(api: Api) -> None:
    email = "josh@harbour-fencing.com.au"
    deal_id, handle = await _emailed_deal(api, email)
    await handle.signal(DealWorkflow.reply_received, ReplyEvent(text="Hmm. Maybe."))
    await api.stack.env.sleep(30 * DAY)
    state = await handle.query(DealWorkflow.state)
    assert state.status == "paused"
    assert state.stage != "Responded"  # nothing acted on the guess
    assert len(api.stack.inbox.to(email)) == 1  # and no follow-up went out
    r = await api.http.get("/api/crm/review/replies/", params={"deal": deal_id})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["review_note"].startswith("Low-confidence reading: read as ")
    assert "a guess" in item["review_note"]  # what the engine thought, for the person
    held = await api.http.get("/api/crm/review/", params={"deal": deal_id, "kind": "review"})
    assert held.json()["total"] == 0


async def test_stop_goes_through_the_net_and_a_leaver_closes_the_deal(api: Api) -> None:
    stop_id, stop = await _emailed_deal(api, "mia@coastal-dental.com.au")
    gone_id, gone = await _emailed_deal(api, "tom@ridgeway-builds.com.au")
    await stop.signal(DealWorkflow.reply_received, ReplyEvent(text="STOP"))
    await gone.signal(
        DealWorkflow.reply_received,
        ReplyEvent(
            text="Tom has left Ridgeway. Please contact office@ridgeway-builds.com.au.",
            headers={"auto-submitted": "auto-replied"},
        ),
    )
    await api.stack.env.sleep(DAY)
    assert (await stop.query(DealWorkflow.state)).status == "lost"
    assert (await gone.query(DealWorkflow.state)).status == "lost"
    with Session(api.stack.engine) as s:
        suppressed = s.exec(select(Suppression.email)).all()
        net = s.exec(
            select(AIDecisionLog).where(
                AIDecisionLog.deal_id == stop_id, AIDecisionLog.decision_type == "compliance_net"
            )
        ).one()
        left = s.exec(
            select(AIDecisionLog).where(
                AIDecisionLog.deal_id == gone_id, AIDecisionLog.decision_type == "classify_reply"
            )
        ).one()
    assert suppressed == ["mia@coastal-dental.com.au"]  # a leaver's address is not suppressed
    assert net.model == "compliance-net"
    assert left.action_taken == "left_company"
