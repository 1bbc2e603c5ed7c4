"""A pipeline's stages, changed by the REST API and the console alike."""

from __future__ import annotations

from sqlmodel import Session, col, select

from dealpilot.composer.service import check_templates
from dealpilot.core.errors import Conflict
from dealpilot.deals.lookup import get_or_404
from dealpilot.deals.updates import apply_update
from dealpilot.rendering.context import BrandInfo
from dealpilot.rendering.renderer import EmailRenderer
from models import Brand, Pipeline, PipelineStage, utcnow
from models.pipeline import PipelineStageUpdate


def check_free(
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


def update_stage(
    session: Session,
    stage_id: int,
    data: PipelineStageUpdate,
    *,
    renderer: EmailRenderer | None = None,
) -> PipelineStage:
    """The fields sent. With a `renderer`, the subjects are rendered for a sample contact
    in the sandbox first, as a send would (422 `template_error`)."""
    stage = get_or_404(session, PipelineStage, stage_id, what="Stage")
    check_free(session, stage.pipeline_id, slug=data.slug, order=data.order, excluding=stage.id)
    if renderer is not None:
        pipeline = session.get(Pipeline, stage.pipeline_id)
        brand = session.get(Brand, pipeline.brand_id) if pipeline else None
        assert brand is not None
        for subject in (data.subject, data.subject_variant_b):
            if subject:
                check_templates(renderer, BrandInfo.from_row(brand), subject, "")
    challenger = stage.subject_variant_b
    apply_update(
        stage,
        data,
        nullable={
            "days_until_followup",
            "template_key",
            "subject",
            "subject_variant_b",
            "probability",
        },
    )
    if stage.subject_variant_b != challenger:
        # A new subject B is a new A/B test (dealpilot.deals.ab_winner): counted from now.
        stage.ab_started_at = utcnow() if stage.subject_variant_b else None
    session.add(stage)
    session.flush()
    return stage
