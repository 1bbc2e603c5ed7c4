"""A stage's A/B test (issue 14, item 7): the running test's figures, the decided tests, a
decision now (the daily engagement scan makes it anyway), and a new challenger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.deps import IdPath, SessionDep
from api.routing import CRMRouter
from dealpilot.deals import ab_winner
from dealpilot.deals.lookup import get_or_404
from models import PipelineStage, utcnow

router = CRMRouter(prefix="/stages", tags=["ab tests"])


class DecidedTest(BaseModel):
    decision_id: int
    decided_at: datetime
    winner: str
    winner_subject: str
    retired_subject: str
    reasoning: str
    figures: dict[str, Any]


class AbTestPublic(BaseModel):
    stage_id: int
    subject: str | None
    subject_variant_b: str | None
    min_sends: int
    signal: str = ab_winner.SIGNAL
    confidence_needed: float = ab_winner.CONFIDENCE
    # The running test's figures (a, b, z, p_value, confidence, verdict), null without one.
    test: dict[str, Any] | None
    promoted: bool = False  # this request promoted a winner (POST .../ab/decide/)
    history: list[DecidedTest]


class ChallengerCreate(BaseModel):
    subject: str = Field(min_length=1, max_length=300)
    min_sends: int | None = Field(default=None, ge=10, le=1_000_000)


def _public(session: SessionDep, stage: PipelineStage, *, promoted: bool = False) -> AbTestPublic:
    test = ab_winner.current_test(session, stage)
    return AbTestPublic(
        stage_id=stage.id or 0,
        subject=stage.subject,
        subject_variant_b=stage.subject_variant_b,
        min_sends=stage.ab_min_sends,
        test=test.figures() if test else None,
        promoted=promoted,
        history=[
            DecidedTest(
                decision_id=row.id or 0,
                decided_at=row.created_at,
                winner=str(row.meta.get("winner", "")),
                winner_subject=str(row.meta.get("winner_subject", "")),
                retired_subject=str(row.meta.get("retired_subject", "")),
                reasoning=row.reasoning,
                figures=row.meta,
            )
            for row in ab_winner.history(session, stage)
        ],
    )


@router.get("/{stage_id}/ab/", response_model=AbTestPublic)
def get_ab_test(stage_id: IdPath, session: SessionDep) -> AbTestPublic:
    return _public(session, get_or_404(session, PipelineStage, stage_id, what="Stage"))


@router.post("/{stage_id}/ab/decide/", response_model=AbTestPublic)
def decide_ab_test(stage_id: IdPath, session: SessionDep) -> AbTestPublic:
    """Promotes the winner if the test says so now; otherwise nothing changes."""
    stage = get_or_404(session, PipelineStage, stage_id, what="Stage")
    decided = ab_winner.decide(session, stage, utcnow())
    return _public(session, stage, promoted=decided is not None)


@router.post("/{stage_id}/ab/challenger/", response_model=AbTestPublic, status_code=201)
def start_challenger(stage_id: IdPath, data: ChallengerCreate, session: SessionDep) -> AbTestPublic:
    """409 `ab_test_running` while a test runs; 422 without a subject A."""
    stage = ab_winner.start_challenger(
        session, stage_id, data.subject, utcnow(), min_sends=data.min_sends
    )
    return _public(session, stage)
