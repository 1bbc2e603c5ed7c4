"""The analytics' rollups of deals, stage visits and AI decisions (migration 0016), kept by
database triggers like EmailDaily, whoever writes the rows: the analytics over a date range of
whole UTC days read a few rows per day instead of every deal, stay and decision of the range.
`day` is the UTC day a deal (or a decision) was created."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Column, Date, String
from sqlmodel import Field, SQLModel


class DealDaily(SQLModel, table=True):
    """Per day of creation, pipeline, current stage, status, engagement tier and (lost deals
    only, else '') lost reason: the deals, those with a value, and the sum of their values in
    cents. The funnel's outcomes, revenue's stage values and engagement's tiers."""

    day: date = Field(sa_column=Column(Date, primary_key=True))
    pipeline_id: int = Field(primary_key=True)
    stage_id: int = Field(primary_key=True)
    status: str = Field(sa_column=Column(String(20), primary_key=True))
    engagement_tier: str = Field(sa_column=Column(String(20), primary_key=True))
    lost_reason: str = Field(primary_key=True)
    deals: int = 0
    valued: int = 0
    value_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class StageVisitDaily(SQLModel, table=True):
    """Per pipeline, day of the deal's creation and stage, from the stays in `dealstagevisit`:
    with `moved_to_stage_id` 0, the distinct deals that entered the stage; with a stage id,
    the distinct deals that moved from the stage to it and the stays that ended so."""

    pipeline_id: int = Field(primary_key=True)
    day: date = Field(sa_column=Column(Date, primary_key=True))
    stage_id: int = Field(primary_key=True)
    moved_to_stage_id: int = Field(primary_key=True)
    deals: int = 0
    stays: int = 0


class AISpendDaily(SQLModel, table=True):
    """Per day, brand, the deal's pipeline and model: the AI decisions about deals and their
    tokens (revenue's AI spend)."""

    day: date = Field(sa_column=Column(Date, primary_key=True))
    brand_id: int = Field(primary_key=True)
    pipeline_id: int = Field(primary_key=True)
    model: str = Field(max_length=100, primary_key=True)
    calls: int = 0
    prompt_tokens: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    completion_tokens: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
