from __future__ import annotations

from typing import Annotated

from fastapi import Query
from sqlmodel import Session, col, select

from api.deps import IdPath, SessionDep
from api.routing import CRMRouter
from dealpilot.core.errors import Conflict, ErrorDetail, Unprocessable
from dealpilot.deals.lookup import get_or_404, get_referenced, resolve_brand_id, row_fields
from dealpilot.deals.updates import apply_update
from models import Brand, Pipeline, PipelineStage, PipelineType, StageKind
from models.pipeline import (
    PipelineCreate,
    PipelineDetail,
    PipelinePublic,
    PipelineStagePublic,
    PipelineUpdate,
)

router = CRMRouter(prefix="/pipelines", tags=["pipelines"])


def _detail(session: Session, pipeline: Pipeline) -> PipelineDetail:
    stages = session.exec(
        select(PipelineStage)
        .where(col(PipelineStage.pipeline_id) == pipeline.id)
        .order_by(col(PipelineStage.order))
    ).all()
    return PipelineDetail.model_validate(
        {
            **row_fields(pipeline),
            "stages": [PipelineStagePublic.model_validate(s) for s in stages],
        }
    )


def _check_slug_free(session: Session, brand_id: int, slug: str) -> None:
    taken = session.exec(
        select(Pipeline.id).where(col(Pipeline.brand_id) == brand_id, col(Pipeline.slug) == slug)
    ).first()
    if taken is not None:
        raise Conflict(f"The brand already has a pipeline {slug!r}", code="duplicate_pipeline")


@router.get("/", response_model=list[PipelinePublic])
def list_pipelines(
    session: SessionDep,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    pipeline_type: Annotated[PipelineType | None, Query(alias="type")] = None,
) -> list[PipelinePublic]:
    stmt = select(Pipeline).order_by(col(Pipeline.brand_id), col(Pipeline.id))
    brand_id = resolve_brand_id(session, brand)
    if brand_id is not None:
        stmt = stmt.where(col(Pipeline.brand_id) == brand_id)
    if pipeline_type is not None:
        stmt = stmt.where(col(Pipeline.pipeline_type) == pipeline_type)
    return [PipelinePublic.model_validate(p) for p in session.exec(stmt).all()]


@router.post("/", response_model=PipelineDetail, status_code=201)
def create_pipeline(data: PipelineCreate, session: SessionDep) -> PipelineDetail:
    get_referenced(session, Brand, data.brand_id, field="brand_id")
    _check_slug_free(session, data.brand_id, data.slug)
    slugs = [s.slug for s in data.stages]
    orders = [s.order for s in data.stages]
    if len(set(slugs)) != len(slugs) or len(set(orders)) != len(orders):
        raise Unprocessable(
            "Stage slugs and orders must be unique within a pipeline",
            code="validation_error",
            details=[ErrorDetail(field="stages", problem="duplicate slug or order")],
        )
    if data.stages and not any(s.kind == StageKind.lost for s in data.stages):
        # An unsubscribe, a bounce or a "not interested" reply moves the deal there.
        raise Unprocessable(
            "A pipeline needs a stage of kind 'lost' for deals that close without a sale",
            code="validation_error",
            details=[ErrorDetail(field="stages", problem="no stage of kind 'lost'")],
        )
    pipeline = Pipeline.model_validate(data.model_dump(exclude={"stages"}))
    session.add(pipeline)
    session.flush()
    assert pipeline.id is not None
    for stage in data.stages:
        session.add(
            PipelineStage.model_validate({**stage.model_dump(), "pipeline_id": pipeline.id})
        )
    session.flush()
    return _detail(session, pipeline)


@router.get("/{pipeline_id}/", response_model=PipelineDetail)
def get_pipeline(pipeline_id: IdPath, session: SessionDep) -> PipelineDetail:
    return _detail(session, get_or_404(session, Pipeline, pipeline_id, what="Pipeline"))


@router.patch("/{pipeline_id}/", response_model=PipelineDetail)
def update_pipeline(
    pipeline_id: IdPath, data: PipelineUpdate, session: SessionDep
) -> PipelineDetail:
    pipeline = get_or_404(session, Pipeline, pipeline_id, what="Pipeline")
    if data.slug is not None and data.slug != pipeline.slug:
        _check_slug_free(session, pipeline.brand_id, data.slug)
    apply_update(pipeline, data, nullable={"default_deal_value"})
    session.add(pipeline)
    session.flush()
    return _detail(session, pipeline)
