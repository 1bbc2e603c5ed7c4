"""Writes the default brands, pipelines, stages, email sequences and AI prompts.

Idempotent and additive: rows are matched by natural key (brand slug, pipeline slug per
brand, stage slug per pipeline, sequence name per pipeline, prompt name; tier templates come
with a new pipeline's stages); missing rows are
created, existing rows are left exactly as the operator last saved them. Never commits:
the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlmodel import Session, col, select

from dealpilot.ai.prompts import default_prompts
from dealpilot.setup.seed_data import (
    BRANDS,
    TIER_TEMPLATES,
    BrandSpec,
    PipelineSpec,
    StageSpec,
    full_pipeline_name,
    template_key,
    tier_template,
)
from models import PromptType, StageKind
from models.ai import AIPromptTemplate, AIPromptVersion
from models.brand import Brand
from models.pipeline import (
    EmailSequence,
    Pipeline,
    PipelineStage,
    SequenceStep,
    StageTierTemplate,
)


@dataclass
class SeedReport:
    """How many rows of each kind `seed` created (0 everywhere on a second run)."""

    brands: int = 0
    pipelines: int = 0
    stages: int = 0
    sequences: int = 0
    sequence_steps: int = 0
    tier_templates: int = 0
    prompts: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


def seed(session: Session, *, prompts: bool = True) -> SeedReport:
    """Adds whatever default rows are missing. Flushes, never commits."""
    report = SeedReport()
    for spec in BRANDS:
        brand = _brand(session, spec, report)
        for pipeline_spec in spec.pipelines:
            pipeline = _pipeline(session, brand, spec, pipeline_spec, report)
            before = report.stages
            stages = _stages(session, pipeline, spec, pipeline_spec, report)
            if pipeline_spec.is_outreach:
                _sequence(session, pipeline, pipeline_spec, stages, report)
                if report.stages > before:  # a new pipeline: an operator's deletions stay
                    _tier_templates(session, spec, stages, report)
    if prompts:
        _prompts(session, report)
    session.flush()
    return report


def _brand(session: Session, spec: BrandSpec, report: SeedReport) -> Brand:
    brand = session.exec(select(Brand).where(Brand.slug == spec.slug)).first()
    if brand is not None:
        return brand
    brand = Brand(
        slug=spec.slug,
        name=spec.name,
        domain=spec.domain,
        from_email=spec.from_email,
        from_name=spec.from_name,
        provider=spec.provider,
        timezone=spec.timezone,
        send_window_start=spec.send_window_start,
        send_window_end=spec.send_window_end,
        send_days=list(spec.send_days),
        daily_cap=spec.daily_cap,
        min_gap_seconds=spec.min_gap_seconds,
        postal_address=spec.postal_address,
        website_url=spec.website_url,
        voice=spec.voice,
        description=spec.description,
    )
    session.add(brand)
    session.flush()
    report.brands += 1
    return brand


def _pipeline(
    session: Session, brand: Brand, brand_spec: BrandSpec, spec: PipelineSpec, report: SeedReport
) -> Pipeline:
    assert brand.id is not None
    pipeline = session.exec(
        select(Pipeline).where(Pipeline.brand_id == brand.id, Pipeline.slug == spec.slug)
    ).first()
    if pipeline is not None:
        return pipeline
    pipeline = Pipeline(
        brand_id=brand.id,
        slug=spec.slug,
        name=full_pipeline_name(brand_spec, spec),
        pipeline_type=spec.pipeline_type,
        description=spec.description,
    )
    session.add(pipeline)
    session.flush()
    report.pipelines += 1
    return pipeline


def _stages(
    session: Session,
    pipeline: Pipeline,
    brand_spec: BrandSpec,
    spec: PipelineSpec,
    report: SeedReport,
) -> dict[str, PipelineStage]:
    """Creates missing stages. A stage added in a later release takes its intended place
    when free, else goes after the operator's stages (order is unique per pipeline)."""
    existing = {
        s.slug: s
        for s in session.exec(select(PipelineStage).where(PipelineStage.pipeline_id == pipeline.id))
    }
    taken = {s.order for s in existing.values()}
    for order, stage_spec in enumerate(spec.stages):
        if stage_spec.slug in existing:
            continue
        if order in taken:
            order = max(taken) + 1
        stage = _new_stage(pipeline, brand_spec, spec, stage_spec, order)
        session.add(stage)
        existing[stage.slug] = stage
        taken.add(order)
        report.stages += 1
    session.flush()
    return existing


def _new_stage(
    pipeline: Pipeline, brand_spec: BrandSpec, spec: PipelineSpec, stage: StageSpec, order: int
) -> PipelineStage:
    assert pipeline.id is not None
    return PipelineStage(
        pipeline_id=pipeline.id,
        name=stage.name,
        slug=stage.slug,
        order=order,
        kind=stage.kind,
        auto_action=stage.action,
        days_until_followup=stage.days,
        is_terminal=stage.kind in (StageKind.won, StageKind.lost),
        template_key=template_key(brand_spec.slug, spec.slug, stage.slug)
        if stage.sends_email
        else None,
        subject=stage.subject,
        subject_variant_b=stage.subject_b,
    )


def _sequence(
    session: Session,
    pipeline: Pipeline,
    spec: PipelineSpec,
    stages: dict[str, PipelineStage],
    report: SeedReport,
) -> None:
    """One EmailSequence mirroring the pipeline's automatic steps, so the cadence is visible.
    Step n waits `delay_days` after the previous step (the wait set on the stage before it)."""
    assert pipeline.id is not None
    name = f"{pipeline.name} cadence"
    found = session.exec(
        select(EmailSequence).where(
            EmailSequence.pipeline_id == pipeline.id, EmailSequence.name == name
        )
    ).first()
    if found is not None:
        return
    sequence = EmailSequence(
        pipeline_id=pipeline.id,
        name=name,
        description="Mirrors the pipeline's automatic email stages and their waits.",
    )
    session.add(sequence)
    session.flush()
    assert sequence.id is not None
    report.sequences += 1
    step = 0
    for previous, stage_spec in zip(spec.stages, spec.stages[1:], strict=False):
        if stage_spec.kind is not StageKind.sequence:
            continue
        stage = stages[stage_spec.slug]
        session.add(
            SequenceStep(
                sequence_id=sequence.id,
                order=step,
                delay_days=previous.days or 0,
                subject_template=stage.subject or stage_spec.subject or stage_spec.name,
                body_template=stage.template_key or "",
            )
        )
        step += 1
        report.sequence_steps += 1


def _tier_templates(
    session: Session, brand: BrandSpec, stages: dict[str, PipelineStage], report: SeedReport
) -> None:
    """The cold and lurker versions of the invitation and follow-up emails, seeded with the
    pipeline's stages (seed_data.TIER_TEMPLATES); a stage that has any is left alone."""
    ids = [s.id for s in stages.values() if s.kind == StageKind.sequence and s.id is not None]
    done = set(
        session.exec(
            select(StageTierTemplate.stage_id).where(col(StageTierTemplate.stage_id).in_(ids))
        ).all()
    )
    for stage in stages.values():
        if stage.id not in ids or stage.id in done:
            continue
        for tier in TIER_TEMPLATES:
            subject, body = tier_template(tier, brand.slug)
            session.add(
                StageTierTemplate(stage_id=stage.id, tier=tier, subject=subject, template_body=body)
            )
            report.tier_templates += 1


def _prompts(session: Session, report: SeedReport) -> None:
    """One AIPromptTemplate per AI function, named by its prompt type. A type that already
    has any row (the seeded one renamed, or the operator's own) is left alone."""
    existing = session.exec(select(AIPromptTemplate.name, AIPromptTemplate.prompt_type)).all()
    names = {name for name, _ in existing}
    types = {str(prompt_type) for _, prompt_type in existing}
    for default in default_prompts():
        prompt_type = PromptType(default.prompt_type)
        if prompt_type.value in names or prompt_type.value in types:
            continue
        prompt = AIPromptTemplate(
            name=prompt_type.value,
            prompt_type=prompt_type,
            prompt_text=default.prompt_text,
            variables=list(default.variables),
        )
        session.add(prompt)
        session.flush()
        assert prompt.id is not None
        session.add(AIPromptVersion(prompt_id=prompt.id, version=1, prompt_text=prompt.prompt_text))
        report.prompts += 1
