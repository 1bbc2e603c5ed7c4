from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import field_validator, model_validator
from sqlalchemy import Column, Index, Numeric, String, text
from sqlmodel import Field, SQLModel

from dealpilot.core.enums import DealStatus, EngagementTier
from models.types import Id, UTCDateTime, utcnow


class DealBase(SQLModel):
    value: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    ai_notes: str = ""


class Deal(DealBase, table=True):
    # The lists are newest first: each main filter has an index that also gives that order, so
    # a page of 100,000 deals reads only its rows (bench/api_scale.py).
    __table_args__ = (
        Index("ix_deal_created", "created_at", "id"),
        Index("ix_deal_pipeline_created", "pipeline_id", "created_at", "id"),
        Index("ix_deal_stage_created", "stage_id", "created_at", "id"),
        Index("ix_deal_status_created", "status", "created_at", "id"),
        Index("ix_deal_tier_created", "engagement_tier", "created_at", "id"),
        # The stats and the board count a pipeline's deals per stage and status from it alone.
        Index("ix_deal_pipeline_stage_status", "pipeline_id", "stage_id", "status"),
        # Analytics: a pipeline's deals created in a date range, by stage, status, tier and
        # value, read from the index alone (dealpilot.analytics: funnel, engagement, revenue).
        Index(
            "ix_deal_analytics",
            "pipeline_id",
            "created_at",
            "stage_id",
            "status",
            "engagement_tier",
            "value",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    pipeline_id: int = Field(foreign_key="pipeline.id")
    stage_id: int = Field(foreign_key="pipelinestage.id")
    status: DealStatus = Field(
        default=DealStatus.active, sa_column=Column(String(20), nullable=False)
    )
    engagement_tier: EngagementTier = Field(
        default=EngagementTier.new, sa_column=Column(String(20), nullable=False)
    )
    next_action_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    next_action_reason: str = ""
    stage_entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lost_reason: str = ""
    workflow_id: str | None = Field(default=None, max_length=100, index=True)
    # The console user who looks after the deal: an operator's annotation, not deal state
    # (the workflow never reads it), so it is written directly like `value`.
    owner_id: int | None = Field(default=None, foreign_key="consoleuser.id", index=True)
    # The EmailSequence the deal was enrolled with (its steps are snapshotted into the
    # workflow at start; the sequence may since have been edited or deleted): no foreign key.
    sequence_id: int | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DealStageVisit(SQLModel, table=True):
    """One stay of a deal in a stage, written by database triggers on `deal` (migration 0015)
    whoever moves the deal: a row when the deal is created, and on every change of its stage
    the open stay ends (`left_at`, `moved_to_stage_id`) and a new one starts. The funnel reads
    it; the deal's creation time is copied so a cohort is read from this table alone."""

    __table_args__ = (
        Index("ix_dealstagevisit_deal_stage", "deal_id", "stage_id"),
        # The funnel of a cohort (pipeline, created in the range), from the index alone.
        Index(
            "ix_dealstagevisit_cohort",
            "pipeline_id",
            "deal_created_at",
            "stage_id",
            "deal_id",
            "moved_to_stage_id",
            "entered_at",
            "left_at",
        ),
        # The median length of a cohort's ended stays (migration 0016; the counts come from
        # StageVisitDaily).
        Index(
            "ix_dealstagevisit_ended",
            "pipeline_id",
            "deal_created_at",
            "stage_id",
            "entered_at",
            "left_at",
            postgresql_where=text("left_at IS NOT NULL"),
            sqlite_where=text("left_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deal.id")
    pipeline_id: int = Field(foreign_key="pipeline.id")
    stage_id: int = Field(foreign_key="pipelinestage.id", index=True)
    deal_created_at: datetime = Field(sa_type=UTCDateTime)
    entered_at: datetime = Field(sa_type=UTCDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The stage the deal moved to when this stay ended.
    moved_to_stage_id: int | None = None


def _to_cents(value: Decimal | None) -> Decimal | None:
    # Stored as NUMERIC(12, 2): answer with the value as it will read back ("99.00").
    return None if value is None else value.quantize(Decimal("0.01"))


class DealCreate(DealBase):
    contact_id: Id
    pipeline_id: Id
    # Defaults to the pipeline's first stage.
    stage_id: Id | None = None
    # An email sequence of the pipeline to follow; None: the pipeline's default, if any.
    sequence_id: Id | None = None
    value: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)

    _cents = field_validator("value")(_to_cents)


class DealUpdate(SQLModel):
    value: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    ai_notes: str | None = None
    status: DealStatus | None = None
    stage_id: Id | None = None
    lost_reason: str | None = None
    # A console user who may see the deal's brand; null: unassigned.
    owner_id: Id | None = None

    _cents = field_validator("value")(_to_cents)


class DealMoveStage(SQLModel):
    """Name the target stage by id or by its slug within the deal's pipeline."""

    stage_id: Id | None = None
    stage: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> DealMoveStage:
        if (self.stage_id is None) == (self.stage is None):
            raise ValueError("give exactly one of stage_id or stage (a stage slug)")
        return self


class DealPublic(DealBase):
    id: int
    contact_id: int
    pipeline_id: int
    stage_id: int
    status: DealStatus
    engagement_tier: EngagementTier
    next_action_at: datetime | None
    next_action_reason: str
    stage_entered_at: datetime
    lost_reason: str
    workflow_id: str | None
    owner_id: int | None = None
    sequence_id: int | None = None
    created_at: datetime
    updated_at: datetime
    # Joined in for convenience, so a client need not fetch four resources per deal.
    brand_id: int
    brand_slug: str
    contact_email: str
    contact_name: str
    pipeline_name: str
    stage_name: str
