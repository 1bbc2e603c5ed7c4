from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from dealpilot.core.enums import PromptType
from models.types import UTCDateTime, utcnow


class AIDecisionLog(SQLModel, table=True):
    # Analytics: one kind of decision (ghost, burnout, change of approach) over a date range.
    __table_args__ = (
        Index(
            "ix_aidecisionlog_type_action_created", "decision_type", "action_taken", "created_at"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int | None = Field(default=None, foreign_key="brand.id", index=True)
    deal_id: int | None = Field(default=None, foreign_key="deal.id", index=True)
    decision_type: str = Field(max_length=50, index=True)
    reasoning: str = ""
    action_taken: str = Field(default="", max_length=100)
    # "metadata" is reserved on declarative classes, so the attribute is `meta`.
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON))
    model: str = Field(default="", max_length=100)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class AIPromptTemplateBase(SQLModel):
    name: str = Field(max_length=100, unique=True)
    prompt_type: PromptType = Field(sa_column=Column(String(40), nullable=False, index=True))
    prompt_text: str
    variables: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    is_active: bool = True
    # NULL: every brand's prompt; set: that brand's override, used before the shared one.
    brand_id: int | None = Field(default=None, foreign_key="brand.id", index=True)


class AIPromptTemplate(AIPromptTemplateBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    version: int = 1  # +1 on every change of the text; each text is kept (AIPromptVersion)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AIPromptVersion(SQLModel, table=True):
    """Every text a prompt has had, so an edit can be compared and undone."""

    id: int | None = Field(default=None, primary_key=True)
    prompt_id: int = Field(foreign_key="aiprompttemplate.id", index=True)
    version: int
    prompt_text: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AIPromptTemplateCreate(SQLModel):
    """A new prompt row, usually one brand's override of a shared prompt."""

    prompt_type: PromptType
    prompt_text: str = Field(min_length=1)
    brand_id: int | None = None
    name: str | None = Field(default=None, max_length=100)
    is_active: bool = True


class AIPromptVersionPublic(SQLModel):
    version: int
    prompt_text: str
    created_at: datetime


class AIDecisionLogPublic(BaseModel):
    # A plain pydantic model: on SQLModel classes `metadata` is the table registry.
    id: int
    brand_id: int | None
    deal_id: int | None
    decision_type: str
    reasoning: str
    action_taken: str
    metadata: dict[str, Any]
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: AIDecisionLog) -> AIDecisionLogPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            brand_id=row.brand_id,
            deal_id=row.deal_id,
            decision_type=row.decision_type,
            reasoning=row.reasoning,
            action_taken=row.action_taken,
            metadata=row.meta,
            model=row.model,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            latency_ms=row.latency_ms,
            created_at=row.created_at,
        )


class AIPromptTemplateUpdate(SQLModel):
    prompt_text: str | None = Field(default=None, min_length=1)
    is_active: bool | None = None


class AIPromptTemplatePublic(AIPromptTemplateBase):
    id: int
    version: int
    created_at: datetime
    updated_at: datetime
