from __future__ import annotations

from sqlmodel import col, select

from api.deps import IdPath, IdQuery, SessionDep
from api.routing import CRMRouter
from dealpilot.deals import stages
from dealpilot.deals.lookup import get_or_404, get_referenced
from models import Pipeline, PipelineStage
from models.pipeline import PipelineStageCreate, PipelineStagePublic, PipelineStageUpdate

router = CRMRouter(prefix="/stages", tags=["stages"])


@router.get("/", response_model=list[PipelineStagePublic])
def list_stages(session: SessionDep, pipeline: IdQuery = None) -> list[PipelineStagePublic]:
    stmt = select(PipelineStage).order_by(col(PipelineStage.pipeline_id), col(PipelineStage.order))
    if pipeline is not None:
        stmt = stmt.where(col(PipelineStage.pipeline_id) == pipeline)
    return [PipelineStagePublic.model_validate(s) for s in session.exec(stmt).all()]


@router.post("/", response_model=PipelineStagePublic, status_code=201)
def create_stage(data: PipelineStageCreate, session: SessionDep) -> PipelineStagePublic:
    get_referenced(session, Pipeline, data.pipeline_id, field="pipeline_id")
    stages.check_free(session, data.pipeline_id, slug=data.slug, order=data.order, excluding=None)
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
    return PipelineStagePublic.model_validate(stages.update_stage(session, stage_id, data))
