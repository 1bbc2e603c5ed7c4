"""Briefed writing: a stage email the AI writes is briefed with the brand's voice and
description, the pipeline, the stage's goal, the contact's engagement tier and the subjects
already sent; the decision row carries the deal's brand; notes never reach the email."""

from __future__ import annotations

import json

from sqlalchemy import Engine
from sqlmodel import Session, select

from dealpilot.ai import AIEngine, HeuristicEngine
from dealpilot.ai.calls import AIDecisions
from dealpilot.core.enums import EngagementTier
from dealpilot.rendering.renderer import EmailRenderer
from dealpilot.rendering.stage_email import load_email_context, render_stage_email
from models import AIDecisionLog, Pipeline
from models.uow import UnitsOfWork
from tests.ai.fake_openai import FakeOpenAI, completion
from tests.factories import (
    make_brand,
    make_contact,
    make_deal,
    make_email_log,
    make_pipeline,
    stages_of,
)

VOICE = "Plain-spoken, Australian English, no hype."
DESCRIPTION = "A Melbourne studio building AI automation for tradies. Since 2019."


def _deal(session: Session) -> tuple[int, int, object]:
    brand = make_brand(session, slug="codeteki", voice=VOICE, description=DESCRIPTION)
    pipeline = make_pipeline(session, brand=brand)
    row = session.get(Pipeline, pipeline.id)
    assert row is not None
    row.description = "Websites and AI automation for Australian businesses."
    session.add(row)
    session.commit()
    deal = make_deal(
        session,
        contact=make_contact(session, brand=brand, email="josh@plumbing.example.com.au"),
        pipeline=pipeline,
        engagement_tier=EngagementTier.warm,
    )
    make_email_log(session, deal=deal, subject="Quick idea for Lee Plumbing")
    stage = list(stages_of(session, pipeline).values())[2]  # a follow-up, no template
    assert deal.id is not None
    assert brand.id is not None
    return deal.id, brand.id, stage


def _placeholder(_brand: object, _contact: object) -> str:
    return "https://example.test/unsubscribe"


async def test_the_model_gets_the_whole_brief_and_the_row_its_brand(
    engine: Engine, session: Session, model_engine: AIEngine, fake: FakeOpenAI
) -> None:
    deal_id, brand_id, stage = _deal(session)
    ctx, _contact, _brand = load_email_context(session, deal_id, unsubscribe_url=_placeholder)
    decisions = AIDecisions(UnitsOfWork(engine), model_engine)
    answer = {"subject": "Re: Quick idea", "body_paragraphs": ["One new reason.", "Call?"]}
    fake.reply(200, completion(json.dumps(answer)))
    email = await render_stage_email(
        EmailRenderer(),
        stage,  # type: ignore[arg-type]
        ctx,
        variant="A",
        approach_note="Shorter, lead with a result.",
        compose=lambda data: decisions.compose_email(data, deal_id),
    )
    assert email.ai_generated
    system, user = (m["content"] for m in fake.requests[0]["messages"])
    assert VOICE in system
    assert DESCRIPTION in system
    assert "Pipeline type: sales" in user
    assert "Engagement tier: warm" in user
    assert "- Quick idea for Lee Plumbing" in user  # the subject already sent
    assert "Goal of this email: a follow-up" in user
    assert "Websites and AI automation for Australian businesses." in user
    assert "never copy them into the email): Shorter, lead with a result." in user
    log = session.exec(select(AIDecisionLog).where(AIDecisionLog.deal_id == deal_id)).one()
    assert (log.decision_type, log.brand_id) == ("compose_email", brand_id)


async def test_the_offline_writer_never_pastes_the_approach_note(
    engine: Engine, session: Session
) -> None:
    deal_id, _brand_id, stage = _deal(session)
    ctx, _contact, _brand = load_email_context(session, deal_id, unsubscribe_url=_placeholder)
    decisions = AIDecisions(UnitsOfWork(engine), HeuristicEngine())
    note = "Internal: they complained about price last time, lead with a result."
    email = await render_stage_email(
        EmailRenderer(),
        stage,  # type: ignore[arg-type]
        ctx,
        variant="A",
        approach_note=note,
        compose=lambda data: decisions.compose_email(data, deal_id),
    )
    assert "complained" not in email.text
    assert "In short: a Melbourne studio building AI automation for tradies." in email.text
    assert email.subject == "Re: Quick idea for Lee Plumbing"
