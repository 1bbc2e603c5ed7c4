"""A/B tests: each stage's test (subject A against subject B, split per deal), the email
figures of each variant over the date range, and how sure we can be that one is better.

The test is a two-sided two-proportion z-test (pooled) on replies, and the same on clicks:
signals machine opens cannot fake. `confidence` is 1 − p: 0.95 means a difference this large
would show by chance one time in twenty if the variants were equal.

Decided tests are read from the AI decision log: every decision whose type starts with `ab_`
(the automatic winner writes them), newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlmodel import Session, col

from dealpilot.analytics.common import Applied
from dealpilot.analytics.emails import EmailFigures, Tally, collect, variant_of
from dealpilot.analytics.filters import Filters, pipelines
from dealpilot.deals.ab_winner import two_proportion_z
from models import AIDecisionLog, PipelineStage

DECIDED_PREFIX = "ab_"


class Significance(BaseModel):
    metric: str  # "replied" or "clicked"
    rate_a: float
    rate_b: float
    leader: str | None  # "A", "B" or None (equal, or nothing sent)
    z: float | None
    p_value: float | None
    confidence: float  # 1 − p_value, 0.0 when the test cannot be made


class StageTest(BaseModel):
    stage_id: int
    stage_name: str
    pipeline_id: int
    subject_a: str | None
    subject_b: str | None
    running: bool  # the stage has a subject B now
    a: EmailFigures
    b: EmailFigures
    replies: Significance
    clicks: Significance


class DecidedTest(BaseModel):
    decided_at: datetime
    brand_id: int | None
    decision_type: str
    action_taken: str
    reasoning: str
    metadata: dict[str, Any]


class ABTests(BaseModel):
    filters: Applied
    method: str
    tests: list[StageTest]
    decided: list[DecidedTest]


def two_proportion(metric: str, x_a: int, n_a: int, x_b: int, n_b: int) -> Significance:
    """The automatic winner's test (`ab_winner.two_proportion_z`), reported: no z or p when a
    side has no sends or nothing varies (no successes, or all)."""
    exact_a, exact_b = (x_a / n_a if n_a else 0.0), (x_b / n_b if n_b else 0.0)
    measured = n_a > 0 and n_b > 0
    leader = None if exact_a == exact_b or not measured else ("B" if exact_b > exact_a else "A")
    tested = measured and 0 < x_a + x_b < n_a + n_b
    z, p = two_proportion_z(x_a, n_a, x_b, n_b)
    return Significance(
        metric=metric,
        rate_a=round(exact_a, 4),
        rate_b=round(exact_b, 4),
        leader=leader,
        z=round(z, 4) if tested else None,
        p_value=round(p, 4) if tested else None,
        confidence=round(1 - p, 4) if tested else 0.0,
    )


# Every decision type, one index probe each (ix_aidecisionlog_type_action_created): a prefix
# `LIKE` cannot use the index under a linguistic collation, and the A/B decisions are a few
# among a range's many thousands.
DECISION_TYPES = text(
    """
    WITH RECURSIVE kinds(kind) AS (
      SELECT min(decision_type) FROM aidecisionlog
      UNION ALL
      SELECT (SELECT min(decision_type) FROM aidecisionlog WHERE decision_type > kinds.kind)
        FROM kinds WHERE kinds.kind IS NOT NULL
    )
    SELECT kind FROM kinds WHERE kind IS NOT NULL
    """
)


def decision_types(session: Session) -> list[str]:
    return [kind for (kind,) in session.execute(DECISION_TYPES).all()]


def ab_tests(session: Session, filters: Filters) -> ABTests:
    ids = [p.id for p in pipelines(session, filters)]
    cells = collect(session, filters, keep=("stage_id", "variant"))
    per = cells.grouped(lambda c: (c.stage_id, variant_of(c)))
    sent_b = {sid for (sid, v), t in per.items() if v == "B" and t.sent}
    stages = [
        s
        for (s,) in session.execute(
            select(PipelineStage)
            .where(col(PipelineStage.pipeline_id).in_(ids))
            .order_by(col(PipelineStage.pipeline_id), col(PipelineStage.order))
        ).all()
        if s.subject_variant_b or s.id in sent_b
    ]
    tests = []
    for s in stages:
        sid = s.id or 0
        a, b = per.get((sid, "A"), Tally()), per.get((sid, "B"), Tally())
        tests.append(
            StageTest(
                stage_id=sid,
                stage_name=s.name,
                pipeline_id=s.pipeline_id,
                subject_a=s.subject,
                subject_b=s.subject_variant_b,
                running=bool(s.subject_variant_b),
                a=EmailFigures.of("A", "Variant A", a),
                b=EmailFigures.of("B", "Variant B", b),
                replies=two_proportion("replied", a.replied, a.sent, b.replied, b.sent),
                clicks=two_proportion("clicked", a.clicked, a.sent, b.clicked, b.sent),
            )
        )
    kinds = [k for k in decision_types(session) if k.startswith(DECIDED_PREFIX)]
    decided = (
        session.execute(
            select(AIDecisionLog)
            .where(
                col(AIDecisionLog.decision_type).in_(kinds),
                col(AIDecisionLog.brand_id).in_(filters.brand_ids),
                col(AIDecisionLog.created_at) >= filters.since,
                col(AIDecisionLog.created_at) < filters.until,
            )
            .order_by(col(AIDecisionLog.created_at).desc(), col(AIDecisionLog.id).desc())
            .limit(500)
        ).all()
        if kinds
        else []
    )
    return ABTests(
        filters=Applied.of(filters),
        method="two-sided two-proportion z-test (pooled) on replies and on clicks per send",
        tests=tests,
        decided=[
            DecidedTest(
                decided_at=row.created_at,
                brand_id=row.brand_id,
                decision_type=row.decision_type,
                action_taken=row.action_taken,
                reasoning=row.reasoning,
                metadata=row.meta,
            )
            for (row,) in decided
        ],
    )
