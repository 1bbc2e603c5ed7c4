"""Reusable email sequences: an operator's steps (a wait in days, a subject and a body, both
sandboxed templates: `dealpilot.deals.content.render_step`), attached to a pipeline as its
default or chosen at enrolment. A deal's workflow snapshots the steps when it starts
(`dealpilot.temporal.starting`), so editing or deleting a sequence changes new deals only.

Every write checks each step's subject and body by rendering them for the brand's sample
contact in the same sandbox a send uses (422 `template_error` naming the step's field)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from dealpilot.composer import rules as composer_rules
from dealpilot.core.errors import ErrorDetail, Unprocessable
from dealpilot.deals.content import render_step
from dealpilot.deals.lookup import get_or_404, get_referenced, row_fields
from dealpilot.rendering.context import BrandInfo
from dealpilot.rendering.renderer import EmailRenderer, TemplateRenderError
from models import Brand, EmailSequence, Pipeline, SequenceStep
from models.pipeline import EmailSequencePublic, SequenceStepPublic
from models.types import Id

MAX_STEPS = 20
MAX_DELAY_DAYS = 365
MAX_BODY = 100_000


class StepWrite(BaseModel):
    delay_days: int = Field(ge=0, le=MAX_DELAY_DAYS)
    subject_template: str = Field(min_length=1, max_length=300)
    body_template: str = Field(min_length=1, max_length=MAX_BODY)


class SequenceCreate(BaseModel):
    pipeline_id: Id
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    is_active: bool = True
    is_default: bool = False
    steps: list[StepWrite] = Field(min_length=1, max_length=MAX_STEPS)


class SequenceUpdate(BaseModel):
    """Fields left out stay; `steps`, when given, replace every step (in the order given)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    is_active: bool | None = None
    is_default: bool | None = None
    steps: list[StepWrite] | None = Field(default=None, min_length=1, max_length=MAX_STEPS)


def public(session: Session, sequences: Sequence[EmailSequence]) -> list[EmailSequencePublic]:
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


def list_sequences(session: Session, pipeline_id: int | None = None) -> list[EmailSequence]:
    stmt = select(EmailSequence).order_by(col(EmailSequence.id))
    if pipeline_id is not None:
        stmt = stmt.where(col(EmailSequence.pipeline_id) == pipeline_id)
    return list(session.exec(stmt).all())


def steps_of(session: Session, sequence_id: int) -> list[SequenceStep]:
    return list(
        session.exec(
            select(SequenceStep)
            .where(SequenceStep.sequence_id == sequence_id)
            .order_by(col(SequenceStep.order))
        ).all()
    )


def _check_steps(
    session: Session, renderer: EmailRenderer, pipeline: Pipeline, steps: list[StepWrite]
) -> None:
    brand = get_or_404(session, Brand, pipeline.brand_id, what="Brand")
    ctx = composer_rules.sample_context(
        BrandInfo.from_row(brand), unsubscribe_url="/api/crm/unsubscribe/preview"
    )
    for n, step in enumerate(steps):
        try:
            render_step(renderer, step.subject_template, step.body_template, ctx)
        except TemplateRenderError as exc:
            raise Unprocessable(
                f"Step {n + 1} is not a valid template: {exc}",
                code="template_error",
                details=[ErrorDetail(field=f"steps.{n}", problem=str(exc))],
            ) from exc


def _write_steps(session: Session, sequence_id: int, steps: list[StepWrite]) -> None:
    for old in steps_of(session, sequence_id):
        session.delete(old)
    session.flush()
    for n, step in enumerate(steps):
        session.add(SequenceStep(sequence_id=sequence_id, order=n, **step.model_dump()))


def _make_default(session: Session, sequence: EmailSequence) -> None:
    """One default per pipeline: the others stop being it."""
    for other in session.exec(
        select(EmailSequence).where(
            EmailSequence.pipeline_id == sequence.pipeline_id,
            col(EmailSequence.is_default).is_(True),
            EmailSequence.id != sequence.id,
        )
    ).all():
        other.is_default = False
        session.add(other)


def create(session: Session, renderer: EmailRenderer, data: SequenceCreate) -> EmailSequence:
    pipeline = get_referenced(session, Pipeline, data.pipeline_id, field="pipeline_id")
    _check_steps(session, renderer, pipeline, data.steps)
    sequence = EmailSequence(
        pipeline_id=data.pipeline_id,
        name=data.name.strip(),
        description=data.description,
        is_active=data.is_active,
        is_default=data.is_default and data.is_active,
    )
    session.add(sequence)
    session.flush()
    assert sequence.id is not None
    _write_steps(session, sequence.id, data.steps)
    if sequence.is_default:
        _make_default(session, sequence)
    session.flush()
    return sequence


def update(
    session: Session, renderer: EmailRenderer, sequence_id: int, data: SequenceUpdate
) -> EmailSequence:
    sequence = get_or_404(session, EmailSequence, sequence_id, what="Email sequence")
    if data.steps is not None:
        pipeline = get_or_404(session, Pipeline, sequence.pipeline_id, what="Pipeline")
        _check_steps(session, renderer, pipeline, data.steps)
        _write_steps(session, sequence_id, data.steps)
    for name in ("name", "description", "is_active", "is_default"):
        value = getattr(data, name)
        if value is not None:
            setattr(sequence, name, value.strip() if isinstance(value, str) else value)
    if not sequence.is_active:
        sequence.is_default = False  # an inactive sequence enrols nobody
    session.add(sequence)
    if sequence.is_default:
        _make_default(session, sequence)
    session.flush()
    return sequence


def delete(session: Session, sequence_id: int) -> None:
    """Running deals keep their snapshot; deals not started yet start without it."""
    sequence = get_or_404(session, EmailSequence, sequence_id, what="Email sequence")
    for step in steps_of(session, sequence_id):
        session.delete(step)
    session.flush()
    session.delete(sequence)
    session.flush()


def for_enrolment(session: Session, pipeline_id: int, sequence_id: int | None) -> int | None:
    """The sequence a new deal of `pipeline_id` follows: the one chosen (an active sequence of
    that pipeline, else 422), or the pipeline's default, or none (the stages' own emails)."""
    if sequence_id is not None:
        chosen = session.get(EmailSequence, sequence_id)
        if chosen is None or chosen.pipeline_id != pipeline_id or not chosen.is_active:
            raise Unprocessable(
                f"Email sequence {sequence_id} is not an active sequence of pipeline {pipeline_id}",
                code="invalid_sequence",
                details=[ErrorDetail(field="sequence_id", problem="not usable in this pipeline")],
            )
        return sequence_id
    default = session.exec(
        select(EmailSequence.id).where(
            EmailSequence.pipeline_id == pipeline_id,
            col(EmailSequence.is_default).is_(True),
            col(EmailSequence.is_active).is_(True),
        )
    ).first()
    return default
