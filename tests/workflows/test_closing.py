"""Closing a deal as lost works on every pipeline, by every route (issue 11, item 6).

An unsubscribe, a spam complaint, a hard bounce, a "not interested" or "remove me" reply, a
person's mark-lost and the autopilot's own closings (suppressed, final follow-up expired,
ghost) all end in CloseLost. Agents & Agencies had no lost stage, so closing one of its
deals failed the workflow task and the deal was stuck for good.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlmodel import Session, col, delete, select

from dealpilot.core.enums import DealStatus, EngagementTier, ReplyIntent, StageKind
from dealpilot.setup.seed_data import BRANDS, DESIFIRMS, BrandSpec, PipelineSpec
from models import Deal, Pipeline, PipelineStage, session_scope
from tests.workflows.conftest import Stack
from workflows import autopilot, decisions, rules
from workflows.contracts import (
    BounceEvent,
    CloseRequest,
    DealContext,
    Engagement,
    ReplyEvent,
    ReplyVerdict,
)
from workflows.deal import DealWorkflow
from workflows.deal_memory import DealMemory
from workflows.effects import CloseLost, Effect, Schedule, Sync
from workflows.rules import EngagementStats, SendWindow, StageInfo

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
WINDOW = SendWindow("UTC", time(0), time(23, 59), (0, 1, 2, 3, 4, 5, 6))
SEEDED = [(b, p) for b in BRANDS for p in b.pipelines]


def _stages(spec: PipelineSpec) -> list[StageInfo]:
    return [
        StageInfo(
            id=order + 1,
            name=s.name,
            slug=s.slug,
            order=order,
            kind=s.kind,
            auto_action=s.action,
            days_until_followup=s.days,
            is_terminal=s.kind in (StageKind.won, StageKind.lost),
            template_key=None,
        )
        for order, s in enumerate(spec.stages)
    ]


def _memory(stage: StageInfo) -> DealMemory:
    return DealMemory(
        deal_id=7, brand="b", pipeline="p", contact_email="sam@example.com", contact_name="Sam",
        stage_id=stage.id, stage_name=stage.name, status=DealStatus.active,
        tier=EngagementTier.new, stage_entered_at=NOW - timedelta(days=9), next_action_at=NOW,
        next_action_reason="next follow-up",
    )  # fmt: skip


def _ctx(stages: list[StageInfo], *, suppressed: bool = False) -> DealContext:
    return DealContext(
        deal_id=7, brand_id=1, brand_slug="b", brand_name="B", pipeline_id=1,
        pipeline_name="p", contact_id=1, contact_email="sam@example.com", contact_name="Sam",
        contact_timezone=None, window=WINDOW, stages=stages, stage_id=stages[0].id,
        status=DealStatus.active, suppressed=suppressed,
    )  # fmt: skip


def _engagement(sent: int, unopened: int) -> Engagement:
    return Engagement(EngagementStats(sent, 0, 0, 0, unopened), EngagementTier.new)


def _routes(
    stages: list[StageInfo],
) -> dict[str, tuple[StageInfo, Callable[[DealMemory], list[Effect]]]]:
    """Each closing route: the stage the deal is in and the decision it takes there."""
    ctx = _ctx(stages)
    reply = ReplyEvent(text="no thanks", subject="Re: hello")
    here = stages[1]
    sequence = [s for s in stages if s.kind == StageKind.sequence]

    def reply_route(intent: ReplyIntent) -> Callable[[DealMemory], list[Effect]]:
        verdict = ReplyVerdict(intent=intent, sentiment="negative", summary=str(intent))
        return lambda m: decisions.on_reply(m, ctx, reply, verdict, NOW, refresh_tier=False)

    bounce = BounceEvent(hard=True, reason="550 no such user")
    routes: dict[str, tuple[StageInfo, Callable[[DealMemory], list[Effect]]]] = {
        "unsubscribe link": (here, lambda m: decisions.on_unsubscribed(m, NOW)),
        "spam complaint": (here, lambda m: decisions.on_complained(m, NOW)),
        "hard bounce": (here, lambda m: decisions.on_bounced(m, bounce, NOW)),
        "not interested reply": (here, reply_route(ReplyIntent.not_interested)),
        "remove-me reply": (here, reply_route(ReplyIntent.unsubscribe)),
        "bounce reply": (here, reply_route(ReplyIntent.bounce)),
        "mark lost": (here, lambda _m: decisions.mark_lost(CloseRequest("went elsewhere"))),
    }
    if sequence:  # the autopilot's own closings happen in its automatic stages
        first, final = sequence[0], sequence[-1]
        suppressed = _ctx(stages, suppressed=True)
        routes["suppressed"] = (
            first, lambda m: autopilot.when_due(m, suppressed, _engagement(1, 0), NOW)
        )  # fmt: skip
        routes["final expired"] = (
            final, lambda m: autopilot.when_due(m, ctx, _engagement(1, 0), NOW)
        )  # fmt: skip
        routes["ghost"] = (first, lambda m: autopilot.when_due(m, ctx, _engagement(3, 3), NOW))
    return routes


def _close(stages: list[StageInfo], start: StageInfo, decide: Callable[[DealMemory], list[Effect]]):
    m = _memory(start)
    closes = [e for e in decide(m) if isinstance(e, CloseLost)]
    assert len(closes) == 1
    effects = autopilot.close_lost(m, stages, NOW, closes[0])
    return m, effects


@pytest.mark.parametrize(
    ("brand", "pipeline"), SEEDED, ids=[f"{b.slug}/{p.slug}" for b, p in SEEDED]
)
def test_every_route_closes_every_seeded_pipeline_in_its_lost_stage(
    brand: BrandSpec, pipeline: PipelineSpec
) -> None:
    stages = _stages(pipeline)
    lost = rules.lost_stage(stages)  # every seeded pipeline has one
    for route, (start, decide) in _routes(stages).items():
        m, effects = _close(stages, start, decide)
        assert (m.status, m.stage_name) == (DealStatus.lost, lost.name), route
        assert m.lost_reason, route
        assert autopilot.is_finished(m), route
        assert any(isinstance(e, Sync) for e in effects), route


def test_a_pipeline_without_a_lost_stage_closes_in_place() -> None:
    """A pipeline an operator made before creation required a lost stage."""
    stages = [s for s in _stages(DESIFIRMS.pipelines[-1]) if s.kind != StageKind.lost]
    for route, (start, decide) in _routes(stages).items():
        m, effects = _close(stages, start, decide)
        assert (m.status, m.stage_name) == (DealStatus.lost, start.name), route
        assert Schedule(None, "closed") in effects, route
        assert m.timeline[-1].text.startswith(f"Closed as lost in {start.name}"), route
        assert any(isinstance(e, Sync) for e in effects), route


# --- through the workflow -------------------------------------------------------------


async def test_mark_lost_closes_an_onboarding_deal_in_its_lost_stage(stack: Stack) -> None:
    stack.open_window("desifirms")
    _deal_id, handle = await stack.enrol(
        "quiet@agency.com.au", brand="desifirms", pipeline="agents_agencies", name="Raj"
    )
    await stack.env.sleep(timedelta(minutes=5))
    state = await handle.execute_update(
        DealWorkflow.mark_lost, CloseRequest(reason="agency closed", actor="ops")
    )
    assert (state.status, state.stage) == ("lost", "Dropped")
    result = await handle.result()
    assert (result.status, result.stage) == ("lost", "Dropped")


async def test_an_unsubscribe_closes_a_deal_whose_pipeline_has_no_lost_stage(
    stack: Stack,
) -> None:
    with session_scope(stack.engine) as s:  # a pipeline seeded before it had a lost stage
        pipeline = s.exec(select(Pipeline).where(Pipeline.slug == "agents_agencies")).one()
        s.exec(  # type: ignore[call-overload]
            delete(PipelineStage).where(
                col(PipelineStage.pipeline_id) == pipeline.id,
                col(PipelineStage.kind) == StageKind.lost,
            )
        )
    stack.open_window("desifirms")
    deal_id, handle = await stack.enrol(
        "gone@agency.com.au", brand="desifirms", pipeline="agents_agencies", name="Raj"
    )
    await stack.env.sleep(timedelta(minutes=5))
    await handle.signal(DealWorkflow.unsubscribed)
    result = await handle.result()
    assert (result.status, result.stage) == ("lost", "Registered")
    with Session(stack.engine) as s:
        deal = s.get(Deal, deal_id)
        assert deal is not None
        assert (deal.status, deal.lost_reason) == ("lost", "unsubscribed")
