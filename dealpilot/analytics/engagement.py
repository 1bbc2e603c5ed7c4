"""Engagement: the tiers of the deals created in the date range, per pipeline, and the
autopilot's ghost, burnout and change-of-approach decisions per day of the range (from the AI
decision log: a ghost closes the deal as `ghost`, a burnout rest is `burnout`, a change of
approach is an `analyze_deal` decision whose action is `change_approach`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from pydantic import BaseModel
from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session, col

from dealpilot.analytics.common import Applied, as_day, day_of
from dealpilot.analytics.filters import Filters, pipelines, rate
from models import AIDecisionLog, Deal, DealDaily, EngagementTier

KINDS = ("ghost", "burnout", "change_approach")


class TierCount(BaseModel):
    tier: EngagementTier
    deals: int
    share: float


class PipelineTiers(BaseModel):
    pipeline_id: int
    pipeline_name: str
    brand_id: int
    deals: int
    tiers: list[TierCount]  # every tier, in EngagementTier's order


class DecisionDay(BaseModel):
    day: date
    ghost: int
    burnout: int
    change_approach: int


class Engagement(BaseModel):
    filters: Applied
    pipelines: list[PipelineTiers]
    decisions: list[DecisionDay]  # every day of the range
    decision_totals: dict[str, int]


def engagement(session: Session, filters: Filters) -> Engagement:
    rows = pipelines(session, filters)
    ids = [p.id for p in rows]
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if ids:
        for pid, tier, n in session.execute(
            select(
                col(DealDaily.pipeline_id),
                col(DealDaily.engagement_tier),
                func.sum(col(DealDaily.deals)),
            )
            .where(
                col(DealDaily.pipeline_id).in_(ids),
                col(DealDaily.day) >= filters.start,
                col(DealDaily.day) <= filters.end,
            )
            .group_by(col(DealDaily.pipeline_id), col(DealDaily.engagement_tier))
        ).all():
            counts[pid][tier] += int(n)
    tiers = []
    for p in rows:
        assert p.id is not None
        total = sum(counts[p.id].values())
        tiers.append(
            PipelineTiers(
                pipeline_id=p.id,
                pipeline_name=p.name,
                brand_id=p.brand_id,
                deals=total,
                tiers=[
                    TierCount(tier=t, deals=counts[p.id][t], share=rate(counts[p.id][t], total))
                    for t in EngagementTier
                ],
            )
        )

    kind = case(
        (col(AIDecisionLog.decision_type) == "analyze_deal", "change_approach"),
        else_=col(AIDecisionLog.decision_type),
    )
    day = day_of(session, AIDecisionLog.created_at)
    stmt = (
        select(day, kind, func.count())
        .where(
            or_(
                col(AIDecisionLog.decision_type).in_(["ghost", "burnout"]),
                and_(
                    col(AIDecisionLog.decision_type) == "analyze_deal",
                    col(AIDecisionLog.action_taken) == "change_approach",
                ),
            ),
            col(AIDecisionLog.brand_id).in_(filters.brand_ids),
            col(AIDecisionLog.created_at) >= filters.since,
            col(AIDecisionLog.created_at) < filters.until,
        )
        .group_by(day, kind)
    )
    if filters.pipeline_id is not None:
        stmt = stmt.join(Deal, col(Deal.id) == col(AIDecisionLog.deal_id)).where(
            col(Deal.pipeline_id) == filters.pipeline_id
        )
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for d, k, n in session.execute(stmt).all():
        per_day[as_day(d)][k] += n
    days = [
        filters.start + timedelta(days=i) for i in range((filters.end - filters.start).days + 1)
    ]
    return Engagement(
        filters=Applied.of(filters),
        pipelines=tiers,
        decisions=[DecisionDay(day=d, **{k: per_day[d][k] for k in KINDS}) for d in days],
        decision_totals={k: sum(per_day[d][k] for d in per_day) for k in KINDS},
    )
