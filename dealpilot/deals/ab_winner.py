"""The automatic A/B winner (issue 14, item 7): a stage with two subjects is a test; once each
variant has `PipelineStage.ab_min_sends` sends (default 100) and a two-sided two-proportion
z-test on the reply rate says the variants differ at 95% confidence, the better subject
becomes the stage's subject and the other is retired (`subject_variant_b` cleared). A new
challenger is a new subject B (`start_challenger`, or a stage update), counted from then on
(`PipelineStage.ab_started_at`).

The signal is replies from a person (`EmailLog.replied`): machine opens (privacy proxies) and
link scanners' clicks cannot fake it, and auto-replies and bounces never set it. A reply counts
for the email it answered (else the deal's latest send), so a subject is judged by the replies
to its own email. Sends are the stage's `sent` email logs of each variant since the test
started. Each promotion is logged in the decision log (`ab_winner`) with its figures; run daily
by the engagement scan of each brand (`decide_brand`), and idempotent: a decided stage has no
test left to decide until a new challenger starts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from dealpilot.core.errors import Conflict, Unprocessable
from dealpilot.deals.lookup import get_or_404
from models import AIDecisionLog, Brand, EmailLog, EmailStatus, Pipeline, PipelineStage

SIGNAL = "replies"
CONFIDENCE = 0.95
DECISION = "ab_winner"


@dataclass(frozen=True)
class VariantFigures:
    variant: str
    subject: str
    sends: int
    replies: int

    @property
    def rate(self) -> float:
        return self.replies / self.sends if self.sends else 0.0


@dataclass(frozen=True)
class AbTest:
    stage_id: int
    stage_name: str
    started_at: datetime | None
    min_sends: int
    a: VariantFigures
    b: VariantFigures
    z: float
    p_value: float
    # waiting_for_sends | not_significant | A | B (the variant the test says is better)
    verdict: str

    @property
    def confidence(self) -> float:
        """How sure the test is that the variants differ (1 - p)."""
        return 1.0 - self.p_value

    def figures(self) -> dict[str, Any]:
        return {
            "stage_id": self.stage_id,
            "signal": SIGNAL,
            "min_sends": self.min_sends,
            "a": {**asdict(self.a), "rate": round(self.a.rate, 4)},
            "b": {**asdict(self.b), "rate": round(self.b.rate, 4)},
            "z": round(self.z, 4),
            "p_value": round(self.p_value, 6),
            "confidence": round(self.confidence, 4),
            "verdict": self.verdict,
            "started_at": self.started_at.isoformat() if self.started_at else None,
        }


def two_proportion_z(successes_a: int, n_a: int, successes_b: int, n_b: int) -> tuple[float, float]:
    """The pooled two-proportion z statistic (B minus A) and its two-sided p-value."""
    if n_a <= 0 or n_b <= 0:
        return 0.0, 1.0
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return 0.0, 1.0
    z = (successes_b / n_b - successes_a / n_a) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def current_test(session: Session, stage: PipelineStage) -> AbTest | None:
    """The stage's running test with its figures, or None (one subject: no test)."""
    if not stage.subject_variant_b:
        return None
    stmt = select(
        EmailLog.variant,
        func.count(),
        func.count().filter(col(EmailLog.replied).is_(True)),
    ).where(
        col(EmailLog.stage_id) == stage.id,
        col(EmailLog.status) == EmailStatus.sent,
        col(EmailLog.variant).in_(("A", "B")),
    )
    if stage.ab_started_at is not None:
        stmt = stmt.where(col(EmailLog.sent_at) >= stage.ab_started_at)
    counts = {v: (int(n), int(r)) for v, n, r in session.exec(stmt.group_by(EmailLog.variant))}
    a_n, a_r = counts.get("A", (0, 0))
    b_n, b_r = counts.get("B", (0, 0))
    a = VariantFigures("A", stage.subject or "", a_n, a_r)
    b = VariantFigures("B", stage.subject_variant_b, b_n, b_r)
    z, p = two_proportion_z(a_r, a_n, b_r, b_n)
    if min(a_n, b_n) < stage.ab_min_sends:
        verdict = "waiting_for_sends"
    elif p >= 1 - CONFIDENCE:
        verdict = "not_significant"
    else:
        verdict = "B" if z > 0 else "A"
    return AbTest(
        stage.id or 0, stage.name, stage.ab_started_at, stage.ab_min_sends, a, b, z, p, verdict
    )


def _brand_id(session: Session, stage: PipelineStage) -> int | None:
    pipeline = session.get(Pipeline, stage.pipeline_id)
    return pipeline.brand_id if pipeline else None


def decide(session: Session, stage: PipelineStage, now: datetime) -> AbTest | None:
    """Promotes the winner when the test says so (the test, decided), else changes nothing
    (None). Flushed."""
    test = current_test(session, stage)
    if test is None or test.verdict not in ("A", "B"):
        return None
    winner, loser = (test.b, test.a) if test.verdict == "B" else (test.a, test.b)
    if test.verdict == "B":
        stage.subject = test.b.subject
    stage.subject_variant_b, stage.ab_started_at = None, None
    session.add(stage)
    session.add(
        AIDecisionLog(
            brand_id=_brand_id(session, stage),
            decision_type=DECISION,
            action_taken=f"promoted:{winner.variant}",
            reasoning=(
                f"{stage.name}: subject {winner.variant} \u201c{winner.subject}\u201d wins on "
                f"{SIGNAL} ({winner.replies}/{winner.sends} = {winner.rate:.1%} against "
                f"{loser.replies}/{loser.sends} = {loser.rate:.1%}, confidence "
                f"{test.confidence:.1%}); \u201c{loser.subject}\u201d retired"
            ),
            meta={
                **test.figures(),
                "winner": winner.variant,
                "winner_subject": winner.subject,
                "retired_subject": loser.subject,
                "decided_at": now.isoformat(),
            },
            model="ab-test",
        )
    )
    session.flush()
    return test


def decide_brand(session: Session, brand_slug: str, now: datetime) -> list[int]:
    """Every running test of the brand's stages; the stage ids whose winner was promoted."""
    stages = session.exec(
        select(PipelineStage)
        .join(Pipeline, col(Pipeline.id) == col(PipelineStage.pipeline_id))
        .join(Brand, col(Brand.id) == col(Pipeline.brand_id))
        .where(Brand.slug == brand_slug, col(PipelineStage.subject_variant_b).is_not(None))
        .order_by(col(PipelineStage.id))
    ).all()
    return [stage.id or 0 for stage in stages if decide(session, stage, now) is not None]


def history(session: Session, stage: PipelineStage) -> list[AIDecisionLog]:
    """The stage's decided tests, newest first."""
    rows = session.exec(
        select(AIDecisionLog)
        .where(
            AIDecisionLog.decision_type == DECISION,
            AIDecisionLog.brand_id == _brand_id(session, stage),
        )
        .order_by(col(AIDecisionLog.id).desc())
    ).all()
    return [row for row in rows if row.meta.get("stage_id") == stage.id]


def start_challenger(
    session: Session, stage_id: int, subject: str, now: datetime, *, min_sends: int | None = None
) -> PipelineStage:
    """A new subject B against the stage's subject, counted from `now` (flushed). 409
    `ab_test_running` while a test runs; 422 without a subject A to test against."""
    stage = get_or_404(session, PipelineStage, stage_id, what="Stage")
    if stage.subject_variant_b:
        raise Conflict(f"{stage.name} already tests a subject B", code="ab_test_running")
    if not stage.subject:
        raise Unprocessable(f"{stage.name} has no subject A to test against", code="no_subject")
    subject = subject.strip()
    if not subject or subject == stage.subject:
        raise Unprocessable("The challenger needs a subject of its own", code="same_subject")
    stage.subject_variant_b, stage.ab_started_at = subject, now
    if min_sends is not None:
        stage.ab_min_sends = min_sends
    session.add(stage)
    session.flush()
    return stage
