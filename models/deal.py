from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric, String
from sqlmodel import Field, SQLModel

from models.types import DealStatus, EngagementTier, UTCDateTime, utcnow


class DealBase(SQLModel):
    value: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    ai_notes: str = ""


class Deal(DealBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    pipeline_id: int = Field(foreign_key="pipeline.id", index=True)
    stage_id: int = Field(foreign_key="pipelinestage.id", index=True)
    status: DealStatus = Field(
        default=DealStatus.active, sa_column=Column(String(20), nullable=False, index=True)
    )
    engagement_tier: EngagementTier = Field(
        default=EngagementTier.new, sa_column=Column(String(20), nullable=False, index=True)
    )
    next_action_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    next_action_reason: str = ""
    stage_entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lost_reason: str = ""
    workflow_id: str | None = Field(default=None, max_length=100, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
