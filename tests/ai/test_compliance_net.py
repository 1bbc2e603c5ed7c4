"""The compliance net: stop requests and complaints are honoured whatever the engine says,
before it is asked, and logged as the net's decision; low-confidence readings wait for a
person. The engine behind the net is the OpenAI engine against a local server scripted to
answer "interested" with high confidence, so only the net can make a reply an unsubscribe."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from dealpilot.ai import AIEngine, ReplyInput
from dealpilot.ai.calls import AIDecisions
from dealpilot.ai.compliance import stop_request
from dealpilot.ai.reading import read_reply
from dealpilot.ai.replies import classify
from models import AIDecisionLog
from models.uow import UnitsOfWork
from tests.ai.fake_openai import FakeOpenAI, completion
from tests.factories import make_brand, make_contact, make_deal, make_pipeline
from workflows.contracts import ReplyEvent, ReplyRequest

NOW = datetime(2026, 3, 4, 1, 30, tzinfo=UTC)
QUOTED_FOOTER = (
    "Sounds good, call me Thursday.\n\nOn Tue, 3 Mar 2026 at 9:00 am Sam <sam@codeteki.au> "
    "wrote:\n> Hi Josh, quick idea...\n> To unsubscribe from these emails click here."
)


def answer(intent: str, confidence: float) -> dict[str, object]:
    body = {
        "sentiment": "positive",
        "intent": intent,
        "return_date": None,
        "summary": f"The model says {intent}.",
        "suggested_reply": "Great, when suits?",
        "confidence": confidence,
        "new_address": None,
    }
    return completion(json.dumps(body))


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "remove",
        "unsubcribe",
        "Not interested. Remove me from your list.",
        "pls take me off ur list",
        "I've reported this email as spam.",
        "Stop spamming us.",
        "Do not contact us again.",
        "<p>Please remove us from your database.</p>",
        "emails mat bhejo please",
    ],
)
async def test_stop_requests_win_whatever_the_model_says(
    model_engine: AIEngine, fake: FakeOpenAI, text: str
) -> None:
    result, by_net = await read_reply(model_engine, ReplyInput(text=text, received_at=NOW))
    assert by_net
    assert result.value.intent == "unsubscribe"
    assert result.model == "compliance-net"
    assert fake.requests == []  # the engine was never asked


async def test_an_arf_complaint_report_is_a_complaint(model_engine: AIEngine) -> None:
    report = ReplyInput(
        text="This is an email abuse report.\n\nFeedback-Type: abuse\nUser-Agent: Yahoo",
        from_email="feedback@arf.mail.yahoo.com",
        headers={"Content-Type": "multipart/report; report-type=feedback-report"},
    )
    result, by_net = await read_reply(model_engine, report)
    assert by_net
    assert result.value.intent == "unsubscribe"
    assert "spam complaint" in result.value.summary


@pytest.mark.parametrize(
    ("reply", "intent"),
    [
        # Our own footer in the quoted history is not the contact asking.
        (ReplyInput(text=QUOTED_FOOTER), "interested"),
        # A bounce that mentions spam filtering is a bounce, not a complaint.
        (
            ReplyInput(
                text="550 5.7.1 Message rejected as spam by Content Filtering.",
                subject="Undeliverable: Quick question",
                from_email="postmaster@example.com.au",
            ),
            "bounce",
        ),
        # Someone else asked to be removed on a leaver's behalf: not the sender's request.
        (ReplyInput(text="Vikram has left the company. Remove him from your list."), None),
    ],
)
def test_the_net_leaves_other_mail_to_the_engine(reply: ReplyInput, intent: str | None) -> None:
    assert stop_request(reply) is None
    if intent is not None:  # the offline engine reads it instead
        assert classify(reply).intent == intent


def _deal(session: Session) -> int:
    brand = make_brand(session, slug="codeteki")
    deal = make_deal(
        session,
        contact=make_contact(session, brand=brand, email="josh@harbour.example.com.au"),
        pipeline=make_pipeline(session, brand=brand),
    )
    assert deal.id is not None
    return deal.id


def _request(deal_id: int, text: str) -> ReplyRequest:
    return ReplyRequest(
        deal_id=deal_id,
        reply=ReplyEvent(text=text, subject="Re: Quick question", received_at=NOW),
    )


async def test_the_deal_activity_honours_and_logs_the_net(
    engine: Engine, session: Session, model_engine: AIEngine, fake: FakeOpenAI
) -> None:
    deal_id = _deal(session)
    decisions = AIDecisions(UnitsOfWork(engine), model_engine)
    verdict = await decisions.classify_reply(_request(deal_id, "unsubscribe"), now=NOW)
    assert (verdict.intent, verdict.needs_person) == ("unsubscribe", False)
    assert fake.requests == []
    log = session.exec(select(AIDecisionLog).where(AIDecisionLog.deal_id == deal_id)).one()
    assert (log.decision_type, log.model, log.action_taken) == (
        "compliance_net",
        "compliance-net",
        "unsubscribe",
    )
    assert log.reasoning.startswith("Compliance net: removal request")


async def test_a_confident_reading_acts_and_a_doubtful_one_waits_for_a_person(
    engine: Engine, session: Session, model_engine: AIEngine, fake: FakeOpenAI
) -> None:
    deal_id = _deal(session)
    decisions = AIDecisions(UnitsOfWork(engine), model_engine, review_below=0.5)
    fake.reply(200, answer("interested", 0.92))
    sure = await decisions.classify_reply(_request(deal_id, "Yes, let's talk"), now=NOW)
    fake.reply(200, answer("interested", 0.31))
    unsure = await decisions.classify_reply(_request(deal_id, "hmm maybe"), now=NOW)
    assert len(fake.requests) == 2
    assert (sure.intent, sure.needs_person, sure.confidence) == ("interested", False, 0.92)
    assert (unsure.intent, unsure.needs_person, unsure.confidence) == ("interested", True, 0.31)
    actions = session.exec(
        select(AIDecisionLog.action_taken)
        .where(AIDecisionLog.deal_id == deal_id)
        .order_by(AIDecisionLog.id)  # type: ignore[arg-type]
    ).all()
    assert actions == ["interested", "interested (held for a person)"]
