from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime
from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from dealpilot.core.enums import BacklinkStatus, LinkCheck
from models.types import Id, UTCDateTime, utcnow


class BacklinkOpportunityBase(SQLModel):
    target_url: str = Field(max_length=2000)
    target_domain: str = Field(max_length=255, index=True)
    domain_authority: int | None = Field(default=None, ge=0, le=100)
    relevance_score: int | None = Field(default=None, ge=0, le=100)
    our_content_url: str = Field(default="", max_length=2000)
    anchor_text_suggestion: str = Field(default="", max_length=300)
    outreach_angle: str = ""
    source: str = Field(default="", max_length=50)


class BacklinkOpportunity(BacklinkOpportunityBase, table=True):
    __table_args__ = (
        UniqueConstraint("brand_id", "target_url", name="uq_backlink_brand_target_url"),
    )

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    deal_id: int | None = Field(default=None, foreign_key="deal.id")
    status: BacklinkStatus = Field(
        default=BacklinkStatus.new, sa_column=Column(String(20), nullable=False, index=True)
    )
    link_rel: str | None = Field(default=None, max_length=100)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Link verification: the last fetch of target_url and what it found.
    link_check: LinkCheck = Field(
        default=LinkCheck.unchecked, sa_column=Column(String(20), nullable=False)
    )
    link_anchor: str | None = Field(default=None, max_length=300)
    link_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    link_check_error: str = Field(default="", max_length=500)
    # The research tool's row as exported (traffic, keywords, ...), for the operator.
    source_data: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BacklinkOpportunityCreate(BacklinkOpportunityBase):
    brand_id: Id
    contact_id: Id | None = None
    deal_id: Id | None = None
    status: BacklinkStatus = BacklinkStatus.new


class BacklinkOpportunityUpdate(SQLModel):
    target_url: str | None = Field(default=None, max_length=2000)
    target_domain: str | None = Field(default=None, max_length=255)
    domain_authority: int | None = Field(default=None, ge=0, le=100)
    relevance_score: int | None = Field(default=None, ge=0, le=100)
    our_content_url: str | None = Field(default=None, max_length=2000)
    anchor_text_suggestion: str | None = Field(default=None, max_length=300)
    outreach_angle: str | None = None
    source: str | None = Field(default=None, max_length=50)
    contact_id: Id | None = None
    deal_id: Id | None = None
    status: BacklinkStatus | None = None
    link_rel: str | None = Field(default=None, max_length=100)
    verified_at: AwareDatetime | None = None


class BacklinkOpportunityPublic(BacklinkOpportunityBase):
    id: int
    brand_id: int
    contact_id: int | None
    deal_id: int | None
    status: BacklinkStatus
    link_rel: str | None
    verified_at: datetime | None
    link_check: LinkCheck
    link_anchor: str | None
    link_checked_at: datetime | None
    link_check_error: str
    source_data: dict[str, str]
    created_at: datetime
