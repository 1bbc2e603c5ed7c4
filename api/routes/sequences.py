"""Email sequences: an operator's steps (waits in days, subject and body templates), a
pipeline's default or chosen at enrolment (`sequence_id` on `POST /deals/` and
`/deals/bulk/`). Running deals keep the steps they started with (dealpilot.deals.sequences)."""

from __future__ import annotations

from fastapi import Response

from api.deps import IdPath, IdQuery, RendererDep, SessionDep
from api.routing import CRMRouter
from dealpilot.deals import sequences
from dealpilot.deals.lookup import get_or_404
from dealpilot.deals.sequences import SequenceCreate, SequenceUpdate
from models import EmailSequence
from models.pipeline import EmailSequencePublic

router = CRMRouter(prefix="/email-sequences", tags=["email sequences"])


@router.get("/", response_model=list[EmailSequencePublic])
def list_sequences(session: SessionDep, pipeline: IdQuery = None) -> list[EmailSequencePublic]:
    return sequences.public(session, sequences.list_sequences(session, pipeline))


@router.post("/", response_model=EmailSequencePublic, status_code=201)
def create_sequence(
    data: SequenceCreate, session: SessionDep, renderer: RendererDep
) -> EmailSequencePublic:
    return sequences.public(session, [sequences.create(session, renderer, data)])[0]


@router.get("/{sequence_id}/", response_model=EmailSequencePublic)
def get_sequence(sequence_id: IdPath, session: SessionDep) -> EmailSequencePublic:
    sequence = get_or_404(session, EmailSequence, sequence_id, what="Email sequence")
    return sequences.public(session, [sequence])[0]


@router.patch("/{sequence_id}/", response_model=EmailSequencePublic)
def update_sequence(
    sequence_id: IdPath, data: SequenceUpdate, session: SessionDep, renderer: RendererDep
) -> EmailSequencePublic:
    sequence = sequences.update(session, renderer, sequence_id, data)
    return sequences.public(session, [sequence])[0]


@router.delete("/{sequence_id}/", status_code=204)
def delete_sequence(sequence_id: IdPath, session: SessionDep) -> Response:
    sequences.delete(session, sequence_id)
    return Response(status_code=204)
