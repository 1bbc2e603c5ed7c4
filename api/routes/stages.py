from __future__ import annotations

from fastapi import Response
from sqlmodel import col, select

from api.deps import IdPath, IdQuery, RendererDep, SessionDep, SettingsDep
from api.routing import CRMRouter
from dealpilot.core.enums import EngagementTier
from dealpilot.deals import stages, tier_templates
from dealpilot.deals.lookup import get_or_404, get_referenced
from models import Pipeline, PipelineStage
from models.pipeline import (
    PipelineStageCreate,
    PipelineStagePublic,
    PipelineStageUpdate,
    StageTierTemplatePublic,
    StageTierTemplateWrite,
)

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


@router.get("/{stage_id}/tier-templates/", response_model=list[StageTierTemplatePublic])
def list_tier_templates(stage_id: IdPath, session: SessionDep) -> list[StageTierTemplatePublic]:
    """The stage's emails per engagement tier; a tier not listed gets the stage's own."""
    rows = tier_templates.list_for_stage(session, stage_id)
    return [StageTierTemplatePublic.model_validate(row) for row in rows]


@router.put("/{stage_id}/tier-templates/{tier}/", response_model=StageTierTemplatePublic)
def put_tier_template(
    stage_id: IdPath,
    tier: EngagementTier,
    data: StageTierTemplateWrite,
    session: SessionDep,
    renderer: RendererDep,
    settings: SettingsDep,
) -> StageTierTemplatePublic:
    """Creates or replaces the stage's email for `tier`, once it renders in the sandbox for
    the brand's sample contact (422 `template_error` otherwise)."""
    row = tier_templates.save(
        session, renderer, stage_id, tier, data, base_url=settings.public_base_url
    )
    return StageTierTemplatePublic.model_validate(row)


@router.delete("/{stage_id}/tier-templates/{tier}/", status_code=204)
def delete_tier_template(stage_id: IdPath, tier: EngagementTier, session: SessionDep) -> Response:
    tier_templates.delete(session, stage_id, tier)
    return Response(status_code=204)
