"""Pipeline statistics, aggregated in SQL (GROUP BY), one query per measure."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import Session, col

from models import (
    Brand,
    Deal,
    DealStatus,
    EmailRollup,
    Pipeline,
    PipelineStage,
    PipelineType,
    StageKind,
)


class StageCount(BaseModel):
    stage_id: int
    name: str
    slug: str
    order: int
    kind: StageKind
    deals: int


class EmailStats(BaseModel):
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    replied: int = 0
    bounced: int = 0
    # Fractions of `sent` (0.0-1.0, four decimals); 0.0 when nothing was sent.
    open_rate: float = 0.0
    click_rate: float = 0.0
    reply_rate: float = 0.0
    bounce_rate: float = 0.0


class PipelineStats(BaseModel):
    pipeline_id: int
    name: str
    slug: str
    pipeline_type: PipelineType
    brand_id: int
    brand_slug: str
    total_deals: int
    active: int
    paused: int
    won: int
    lost: int
    stages: list[StageCount]
    emails: EmailStats


class Stats(BaseModel):
    pipelines: list[PipelineStats]


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def pipeline_stats(
    session: Session, *, brand_id: int | None = None, pipeline_id: int | None = None
) -> Stats:
    pq = (
        select(Pipeline, col(Brand.slug))
        .join(Brand, col(Brand.id) == col(Pipeline.brand_id))
        .order_by(col(Pipeline.brand_id), col(Pipeline.id))
    )
    if brand_id is not None:
        pq = pq.where(col(Pipeline.brand_id) == brand_id)
    if pipeline_id is not None:
        pq = pq.where(col(Pipeline.id) == pipeline_id)
    pipelines = session.execute(pq).all()
    ids = [p.id for p, _ in pipelines]
    if not ids:
        return Stats(pipelines=[])

    # One pass over the pipelines' deals: how many per (stage, status); the stages' and the
    # statuses' counts are both sums of it.
    deal_counts = session.execute(
        select(col(Deal.pipeline_id), col(Deal.stage_id), col(Deal.status), func.count())
        .where(col(Deal.pipeline_id).in_(ids))
        .group_by(col(Deal.pipeline_id), col(Deal.stage_id), col(Deal.status))
    ).all()
    per_stage: dict[int, int] = {}
    statuses: dict[tuple[int, str], int] = {}
    for pid, sid, status, n in deal_counts:
        per_stage[sid] = per_stage.get(sid, 0) + n
        statuses[(pid, status)] = statuses.get((pid, status), 0) + n

    stage_rows = (
        session.execute(
            select(PipelineStage)
            .where(col(PipelineStage.pipeline_id).in_(ids))
            .order_by(col(PipelineStage.pipeline_id), col(PipelineStage.order))
        )
        .scalars()
        .all()
    )
    stages: dict[int, list[StageCount]] = {i: [] for i in ids if i is not None}
    for st in stage_rows:
        stages[st.pipeline_id].append(
            StageCount(
                stage_id=st.id or 0,
                name=st.name,
                slug=st.slug,
                order=st.order,
                kind=st.kind,
                deals=per_stage.get(st.id or 0, 0),
            )
        )

    # Kept per pipeline by triggers on emaillog (models.EmailRollup): no scan of the logs.
    email_rows = session.execute(
        select(
            col(EmailRollup.pipeline_id),
            col(EmailRollup.sent),
            col(EmailRollup.opened),
            col(EmailRollup.clicked),
            col(EmailRollup.replied),
            col(EmailRollup.bounced),
        ).where(col(EmailRollup.pipeline_id).in_(ids), col(EmailRollup.sent) > 0)
    ).all()
    emails: dict[int, EmailStats] = {}
    for pid, sent, opened, clicked, replied, bounced in email_rows:
        emails[pid] = EmailStats(
            sent=sent,
            opened=opened,
            clicked=clicked,
            replied=replied,
            bounced=bounced,
            open_rate=_rate(opened, sent),
            click_rate=_rate(clicked, sent),
            reply_rate=_rate(replied, sent),
            bounce_rate=_rate(bounced, sent),
        )

    result: list[PipelineStats] = []
    for pipeline, brand_slug in pipelines:
        pid = pipeline.id
        counts = {s: statuses.get((pid, s.value), 0) for s in DealStatus}
        result.append(
            PipelineStats(
                pipeline_id=pid,
                name=pipeline.name,
                slug=pipeline.slug,
                pipeline_type=pipeline.pipeline_type,
                brand_id=pipeline.brand_id,
                brand_slug=brand_slug,
                total_deals=sum(counts.values()),
                active=counts[DealStatus.active],
                paused=counts[DealStatus.paused],
                won=counts[DealStatus.won],
                lost=counts[DealStatus.lost],
                stages=stages[pid],
                emails=emails.get(pid, EmailStats()),
            )
        )
    return Stats(pipelines=result)
