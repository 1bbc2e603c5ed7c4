"""The funnel of each pipeline, for the deals created in the date range (a cohort): how many
reached each stage (a stay recorded in `dealstagevisit`, kept by triggers), how many of them
moved from it straight to the next stage, the median time a stay in the stage lasted, and how
the cohort ended (won, lost and why, still open)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Table, extract, func, select
from sqlmodel import Session, col

from dealpilot.analytics.common import Applied, is_postgres
from dealpilot.analytics.filters import Filters, pipelines, rate
from models import (
    Brand,
    DealDaily,
    DealStageVisit,
    DealStatus,
    PipelineStage,
    StageKind,
    StageVisitDaily,
)

VISITS: Table = DealStageVisit.__table__  # type: ignore[attr-defined]


class FunnelStage(BaseModel):
    stage_id: int
    name: str
    slug: str
    order: int
    kind: StageKind
    reached: int  # deals of the cohort that entered the stage (at any time)
    next_stage_id: int | None  # the next stage by order that is not a lost stage
    converted: int  # of those, the deals that moved from it straight to the next stage
    conversion_rate: float  # converted / reached
    stays_ended: int  # stays in the stage that ended (the deal moved on)
    median_hours: float | None  # median length of those stays, hours (two decimals)


class LostReason(BaseModel):
    reason: str
    deals: int


class PipelineFunnel(BaseModel):
    pipeline_id: int
    pipeline_name: str
    brand_id: int
    brand_slug: str
    deals: int  # created in the range
    open: int  # active or paused
    won: int
    lost: int
    win_rate: float  # won / (won + lost)
    lost_reasons: list[LostReason]
    stages: list[FunnelStage]


class Funnel(BaseModel):
    filters: Applied
    pipelines: list[PipelineFunnel]


def _next_stages(stages: list[PipelineStage]) -> dict[int, int]:
    """Each stage's next one by order, skipping lost stages; none after a terminal stage."""
    result: dict[int, int] = {}
    for i, stage in enumerate(stages):
        if stage.is_terminal or stage.kind in (StageKind.won, StageKind.lost):
            continue
        later = [s for s in stages[i + 1 :] if s.kind != StageKind.lost]
        if later and stage.id is not None and later[0].id is not None:
            result[stage.id] = later[0].id
    return result


def funnel(session: Session, filters: Filters) -> Funnel:
    rows = pipelines(session, filters)
    ids = [p.id for p in rows if p.id is not None]
    if not ids:
        return Funnel(filters=Applied.of(filters), pipelines=[])
    slugs: dict[int, str] = dict(session.execute(select(col(Brand.id), col(Brand.slug))).all())
    stage_rows = session.execute(
        select(PipelineStage)
        .where(col(PipelineStage.pipeline_id).in_(ids))
        .order_by(col(PipelineStage.pipeline_id), col(PipelineStage.order))
    ).all()
    stages: dict[int, list[PipelineStage]] = defaultdict(list)
    for (stage,) in stage_rows:
        stages[stage.pipeline_id].append(stage)
    nxt: dict[int, int] = {}
    for pid in ids:
        nxt.update(_next_stages(stages[pid]))

    # The cohort's deals and stays from the daily rollups (migration 0016: a few rows per
    # day, whatever the number of deals); only the median stay reads the stays themselves.
    outcomes: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reasons: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pid, status, reason, n in session.execute(
        select(
            col(DealDaily.pipeline_id),
            col(DealDaily.status),
            col(DealDaily.lost_reason),
            func.sum(col(DealDaily.deals)),
        )
        .where(
            col(DealDaily.pipeline_id).in_(ids),
            col(DealDaily.day) >= filters.start,
            col(DealDaily.day) <= filters.end,
        )
        .group_by(col(DealDaily.pipeline_id), col(DealDaily.status), col(DealDaily.lost_reason))
    ).all():
        outcomes[pid][status] += int(n)
        if status == DealStatus.lost and n:
            reasons[pid][reason or "(no reason given)"] += int(n)

    reached: dict[int, int] = {}
    converted: dict[int, int] = {}
    ended_stays: dict[int, int] = defaultdict(int)
    for sid, moved_to, deals, stays in session.execute(
        select(
            col(StageVisitDaily.stage_id),
            col(StageVisitDaily.moved_to_stage_id),
            func.sum(col(StageVisitDaily.deals)),
            func.sum(col(StageVisitDaily.stays)),
        )
        .where(
            col(StageVisitDaily.pipeline_id).in_(ids),
            col(StageVisitDaily.day) >= filters.start,
            col(StageVisitDaily.day) <= filters.end,
        )
        .group_by(col(StageVisitDaily.stage_id), col(StageVisitDaily.moved_to_stage_id))
    ).all():
        if not moved_to:
            if deals:
                reached[sid] = int(deals)
            continue
        ended_stays[sid] += int(stays)
        if moved_to == nxt.get(sid) and deals:
            converted[sid] = int(deals)

    visit = VISITS.c
    in_cohort = (
        visit.pipeline_id.in_(ids),
        visit.deal_created_at >= filters.since,
        visit.deal_created_at < filters.until,
    )
    medians = _median_hours(session, in_cohort)
    for sid, ended in ended_stays.items():
        medians.setdefault(sid, (ended, None))

    result: list[PipelineFunnel] = []
    for p in rows:
        assert p.id is not None
        counts = outcomes[p.id]
        won, lost = counts[DealStatus.won], counts[DealStatus.lost]
        funnel_stages = []
        for s in stages[p.id]:
            sid = s.id or 0
            ended, median = medians.get(sid, (0, None))
            funnel_stages.append(
                FunnelStage(
                    stage_id=sid,
                    name=s.name,
                    slug=s.slug,
                    order=s.order,
                    kind=s.kind,
                    reached=reached.get(sid, 0),
                    next_stage_id=nxt.get(sid),
                    converted=converted.get(sid, 0),
                    conversion_rate=rate(converted.get(sid, 0), reached.get(sid, 0)),
                    stays_ended=ended,
                    median_hours=median,
                )
            )
        result.append(
            PipelineFunnel(
                pipeline_id=p.id,
                pipeline_name=p.name,
                brand_id=p.brand_id,
                brand_slug=slugs.get(p.brand_id, ""),
                deals=sum(counts.values()),
                open=counts[DealStatus.active] + counts[DealStatus.paused],
                won=won,
                lost=lost,
                win_rate=rate(won, won + lost),
                lost_reasons=[
                    LostReason(reason=r, deals=n)
                    for r, n in sorted(reasons[p.id].items(), key=lambda kv: (-kv[1], kv[0]))
                ],
                stages=funnel_stages,
            )
        )
    return Funnel(filters=Applied.of(filters), pipelines=result)


def _median_hours(
    session: Session, in_cohort: tuple[Any, ...]
) -> dict[int, tuple[int, float | None]]:
    """Per stage, the ended stays of the cohort and their median length in hours
    (`ix_dealstagevisit_ended`); SQLite (development, tests) has no median: in Python."""
    visit = VISITS.c
    ended = (visit.left_at.is_not(None), *in_cohort)
    if is_postgres(session):
        seconds = extract("epoch", visit.left_at - visit.entered_at)
        return {
            sid: (int(n), round(float(middle) / 3600, 2) if middle is not None else None)
            for sid, n, middle in session.execute(
                select(
                    visit.stage_id,
                    func.count(),
                    func.percentile_cont(0.5).within_group(seconds),
                )
                .where(*ended)
                .group_by(visit.stage_id)
            ).all()
        }
    lengths: dict[int, list[float]] = defaultdict(list)
    for sid, entered, left in session.execute(
        select(visit.stage_id, visit.entered_at, visit.left_at).where(*ended)
    ).all():
        lengths[sid].append((left - entered).total_seconds())
    return {sid: (len(v), round(statistics.median(v) / 3600, 2)) for sid, v in lengths.items()}
