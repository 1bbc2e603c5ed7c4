from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from api.deps import IdPath, IdQuery, SessionDep
from api.routing import CRMRouter
from dealpilot.deals.lookup import get_or_404, row_fields
from models import EmailSequence, SequenceStep
from models.pipeline import EmailSequencePublic, SequenceStepPublic

router = CRMRouter(prefix="/email-sequences", tags=["email sequences"])


def _with_steps(session: Session, sequences: Sequence[EmailSequence]) -> list[EmailSequencePublic]:
    ids = [s.id for s in sequences]
    steps: dict[int, list[SequenceStepPublic]] = {i: [] for i in ids if i is not None}
    if ids:
        rows = session.exec(
            select(SequenceStep)
            .where(col(SequenceStep.sequence_id).in_(ids))
            .order_by(col(SequenceStep.sequence_id), col(SequenceStep.order))
        ).all()
        for step in rows:
            steps[step.sequence_id].append(SequenceStepPublic.model_validate(step))
    return [
        EmailSequencePublic.model_validate({**row_fields(s), "steps": steps.get(s.id or 0, [])})
        for s in sequences
    ]


@router.get("/", response_model=list[EmailSequencePublic])
def list_sequences(session: SessionDep, pipeline: IdQuery = None) -> list[EmailSequencePublic]:
    stmt = select(EmailSequence).order_by(col(EmailSequence.id))
    if pipeline is not None:
        stmt = stmt.where(col(EmailSequence.pipeline_id) == pipeline)
    return _with_steps(session, session.exec(stmt).all())


@router.get("/{sequence_id}/", response_model=EmailSequencePublic)
def get_sequence(sequence_id: IdPath, session: SessionDep) -> EmailSequencePublic:
    sequence = get_or_404(session, EmailSequence, sequence_id, what="Email sequence")
    return _with_steps(session, [sequence])[0]
