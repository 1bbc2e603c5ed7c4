from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import field_validator
from sqlalchemy import Column, Numeric, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from dealpilot.core.enums import AutoAction, EngagementTier, PipelineType, StageKind
from models.types import Id, UTCDateTime, utcnow


class PipelineBase(SQLModel):
    name: str = Field(max_length=200)
    slug: str = Field(max_length=64)
    pipeline_type: PipelineType = Field(sa_column=Column(String(20), nullable=False))
    description: str = ""
    is_active: bool = True
    human_review: bool = False
    # The value a deal gets when it is created without one (analytics: pipeline value,
    # forecast); None: such deals have no value.
    default_deal_value: Decimal | None = Field(
        default=None, ge=0, max_digits=12, decimal_places=2, sa_column=Column(Numeric(12, 2))
    )


def _to_cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))


def _to_thousandths(value: Decimal | None) -> Decimal | None:
    # Stored as NUMERIC(4, 3): answer with the probability as it will read back ("0.250").
    return None if value is None else value.quantize(Decimal("0.001"))


class Pipeline(PipelineBase, table=True):
    __table_args__ = (UniqueConstraint("brand_id", "slug", name="uq_pipeline_brand_slug"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PipelineStageBase(SQLModel):
    name: str = Field(max_length=120)
    slug: str = Field(max_length=64)
    order: int = Field(ge=0)
    kind: StageKind = Field(sa_column=Column(String(20), nullable=False))
    auto_action: AutoAction = Field(
        default=AutoAction.none, sa_column=Column(String(20), nullable=False)
    )
    # Days to wait in this stage for a reply before the next automatic step.
    days_until_followup: int | None = Field(default=None, ge=0)
    is_terminal: bool = False
    # Email template path under templates/emails/, e.g. "codeteki/sales/intro_sent".
    template_key: str | None = Field(default=None, max_length=200)
    subject: str | None = Field(default=None, max_length=300)
    subject_variant_b: str | None = Field(default=None, max_length=300)
    # The automatic A/B winner (dealpilot.deals.ab_winner): sends each variant needs first.
    ab_min_sends: int = Field(default=100, ge=10, le=1_000_000)
    # The chance (0-1) that a deal in this stage is won: the revenue forecast weighs each
    # deal's value by it. None: the default for the stage's kind (dealpilot.analytics).
    probability: Decimal | None = Field(
        default=None, ge=0, le=1, max_digits=4, decimal_places=3, sa_column=Column(Numeric(4, 3))
    )


class PipelineStage(PipelineStageBase, table=True):
    __table_args__ = (
        UniqueConstraint("pipeline_id", "slug", name="uq_stage_pipeline_slug"),
        UniqueConstraint("pipeline_id", "order", name="uq_stage_pipeline_order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(foreign_key="pipeline.id", index=True)
    # The stage's email template as edited in the console (sandboxed Jinja2, may extend the
    # brand layout): used instead of the file `template_key` names; None: the file.
    template_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # When the current subject B was set: the test counts the sends since then.
    ab_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StageTierTemplate(SQLModel, table=True):
    """A stage's email for deals of one engagement tier (shorter for cold, more value for
    lurkers): chosen at send time by the deal's tier; a tier without one gets the stage's own
    email (`template_body`, else the file). Sandboxed Jinja2 like `template_body`."""

    __table_args__ = (UniqueConstraint("stage_id", "tier", name="uq_stagetier_stage_tier"),)

    id: int | None = Field(default=None, primary_key=True)
    stage_id: int = Field(foreign_key="pipelinestage.id", index=True)
    tier: EngagementTier = Field(sa_column=Column(String(20), nullable=False))
    # None: the stage's subject (A/B as usual).
    subject: str | None = Field(default=None, max_length=300)
    template_body: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StageTierTemplateWrite(SQLModel):
    subject: str | None = Field(default=None, max_length=300)
    template_body: str = Field(min_length=1, max_length=100_000)


class StageTierTemplatePublic(SQLModel):
    id: int
    stage_id: int
    tier: EngagementTier
    subject: str | None
    template_body: str
    updated_at: datetime


class EmailSequenceBase(SQLModel):
    name: str = Field(max_length=200)
    description: str = ""
    is_active: bool = True
    # The pipeline's default: deals enrolled without a sequence of their own follow it.
    is_default: bool = False


class EmailSequence(EmailSequenceBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(foreign_key="pipeline.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SequenceStepBase(SQLModel):
    order: int = Field(ge=0)
    delay_days: int = Field(default=0, ge=0)
    subject_template: str = Field(max_length=300)
    body_template: str
    ai_personalize: bool = False


class SequenceStep(SequenceStepBase, table=True):
    __table_args__ = (UniqueConstraint("sequence_id", "order", name="uq_step_sequence_order"),)

    id: int | None = Field(default=None, primary_key=True)
    sequence_id: int = Field(foreign_key="emailsequence.id", index=True)


class PipelineStageCreate(PipelineStageBase):
    pipeline_id: Id

    _thousandths = field_validator("probability")(_to_thousandths)


class PipelineStageUpdate(SQLModel):
    name: str | None = Field(default=None, max_length=120)
    slug: str | None = Field(default=None, max_length=64)
    order: int | None = Field(default=None, ge=0)
    kind: StageKind | None = None
    auto_action: AutoAction | None = None
    days_until_followup: int | None = Field(default=None, ge=0)
    is_terminal: bool | None = None
    template_key: str | None = Field(default=None, max_length=200)
    subject: str | None = Field(default=None, max_length=300)
    subject_variant_b: str | None = Field(default=None, max_length=300)
    ab_min_sends: int | None = Field(default=None, ge=10, le=1_000_000)
    probability: Decimal | None = Field(default=None, ge=0, le=1, max_digits=4, decimal_places=3)

    _thousandths = field_validator("probability")(_to_thousandths)


class PipelineStagePublic(PipelineStageBase):
    id: int
    pipeline_id: int
    ab_started_at: datetime | None = None


class PipelineCreate(PipelineBase):
    brand_id: Id
    _cents = field_validator("default_deal_value")(_to_cents)
    # Stages created with the pipeline, in the order given unless `order` says otherwise.
    stages: list[PipelineStageBase] = Field(default_factory=list)


class PipelineUpdate(SQLModel):
    name: str | None = Field(default=None, max_length=200)
    slug: str | None = Field(default=None, max_length=64)
    description: str | None = None
    is_active: bool | None = None
    human_review: bool | None = None
    default_deal_value: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)

    _cents = field_validator("default_deal_value")(_to_cents)


class PipelinePublic(PipelineBase):
    id: int
    brand_id: int
    created_at: datetime


class PipelineDetail(PipelinePublic):
    stages: list[PipelineStagePublic]


class SequenceStepPublic(SequenceStepBase):
    id: int
    sequence_id: int


class EmailSequencePublic(EmailSequenceBase):
    id: int
    pipeline_id: int
    created_at: datetime
    steps: list[SequenceStepPublic]
