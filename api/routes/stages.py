from __future__ import annotations

from sqlmodel import Session, col, select

from api.deps import IdPath, IdQuery, SessionDep
from api.routing import CRMRouter
from dealpilot.core.errors import Conflict
from dealpilot.deals.lookup import get_or_404, get_referenced
from dealpilot.deals.updates import apply_update
from models import Pipeline, PipelineStage
from models.pipeline import PipelineStageCreate, PipelineStagePublic, PipelineStageUpdate

router = CRMRouter(prefix="/stages", tags=["stages"])


def _check_free(
    session: Session,
    pipeline_id: int,
    *,
    slug: str | None,
    order: int | None,
    excluding: int | None,
) -> None:
    stmt = select(PipelineStage).where(col(PipelineStage.pipeline_id) == pipeline_id)
    if excluding is not None:
        stmt = stmt.where(col(PipelineStage.id) != excluding)
    for other in session.exec(stmt).all():
        if slug is not None and other.slug == slug:
            raise Conflict(f"The pipeline already has a stage {slug!r}", code="duplicate_stage")
        if order is not None and other.order == order:
            raise Conflict(
                f"The pipeline already has a stage at order {order}", code="duplicate_stage"
            )


@router.get("/", response_model=list[PipelineStagePublic])
def list_stages(session: SessionDep, pipeline: IdQuery = None) -> list[PipelineStagePublic]:
    stmt = select(PipelineStage).order_by(col(PipelineStage.pipeline_id), col(PipelineStage.order))
    if pipeline is not None:
        stmt = stmt.where(col(PipelineStage.pipeline_id) == pipeline)
    return [PipelineStagePublic.model_validate(s) for s in session.exec(stmt).all()]


@router.post("/", response_model=PipelineStagePublic, status_code=201)
def create_stage(data: PipelineStageCreate, session: SessionDep) -> PipelineStagePublic:
    get_referenced(session, Pipeline, data.pipeline_id, field="pipeline_id")
    _check_free(session, data.pipeline_id, slug=data.slug, order=data.order, excluding=None)
    stage = PipelineStage.model_validate(data)
    session.add(stage)
    session.flush()
    return PipelineStagePublic.model_validate(stage)


@router.get("/{stage_id}/", response_model=PipelineStagePublic)
def get_stage(stage_id: IdPath, session: SessionDep) -> PipelineStagePublic:
    return PipelineStagePublic.model_validate(
        get_or_404(session, PipelineStage, stage_id, what="Stage")
    )


@router.patch("/{stage_id}/", response_model=PipelineStagePublic)
def update_stage(
    stage_id: IdPath, data: PipelineStageUpdate, session: SessionDep
) -> PipelineStagePublic:
    stage = get_or_404(session, PipelineStage, stage_id, what="Stage")
    _check_free(session, stage.pipeline_id, slug=data.slug, order=data.order, excluding=stage.id)
    apply_update(
        stage,
        data,
        nullable={"days_until_followup", "template_key", "subject", "subject_variant_b"},
    )
    session.add(stage)
    session.flush()
    return PipelineStagePublic.model_validate(stage)
