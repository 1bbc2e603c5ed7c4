"""Inputs and results of every AI call.

These cross Temporal activity boundaries and are sent to OpenAI as structured-output
schemas, so they stay plain pydantic v2 models: no custom types, new fields get defaults
(running deals carry old payloads), and result models avoid defaults the strict JSON
schema could not express.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

DealAction = Literal["send_email", "wait", "change_approach", "pause", "flag_for_review"]
Sentiment = Literal["positive", "neutral", "negative"]
ReplyIntent = Literal[
    "interested",
    "not_interested",
    "question",
    "out_of_office",
    "auto_reply",  # an automatic answer that is not an absence: no pause, no reply
    "referral",  # "talk to Priya instead": new_address when the reply gives one
    "left_company",
    "unsubscribe",  # any stop or removal request, and spam complaints
    "bounce",
]
REPLY_INTENTS: tuple[str, ...] = ReplyIntent.__args__  # type: ignore[attr-defined]


class DealAnalysisInput(BaseModel):
    brand_name: str
    pipeline_name: str
    pipeline_type: str = "sales"
    stage_name: str
    stage_kind: str = "sequence"
    is_final_stage: bool = False
    contact_name: str | None = None
    contact_company: str | None = None
    contact_email: str
    engagement_tier: str = "new"
    emails_sent: int = 0
    emails_opened: int = 0
    emails_clicked: int = 0
    replies: int = 0
    consecutive_unopened: int = 0
    days_in_stage: int = 0
    last_reply_text: str | None = None
    notes: str | None = None


class DealAnalysis(BaseModel):
    action: DealAction
    reasoning: str
    wait_days: int | None
    approach_note: str | None


class ComposeInput(BaseModel):
    brand_name: str
    brand_voice: str | None = None
    brand_description: str | None = None  # what the brand offers, in its own words
    sender_name: str | None = None
    pipeline_type: str = "sales"
    stage_name: str
    stage_goal: str | None = None  # what this email is for (the stage's goal)
    purpose: str = "intro"  # "intro", "follow-up 1", "final follow-up", ...
    tone: str = "friendly and professional"
    contact_name: str | None = None
    contact_company: str | None = None
    contact_email: str
    contact_website: str | None = None
    engagement_tier: str = "new"
    previous_subjects: list[str] = Field(default_factory=list)
    # Instructions for the writer (an approach note, an operator's brief): never email text.
    notes: str | None = None


class ComposedEmail(BaseModel):
    subject: str
    body_paragraphs: list[str]


class ReplyInput(BaseModel):
    text: str
    subject: str = ""
    from_email: str = ""
    # Anchors relative dates ("back on 3 March" means the next 3 March after this).
    received_at: datetime | None = None
    # The mail's own headers (name → value): Auto-Submitted, X-Autoreply, Precedence,
    # Content-Type (multipart/report for DSNs and ARF reports).
    headers: dict[str, str] = Field(default_factory=dict)


class ReplyClassification(BaseModel):
    sentiment: Sentiment
    intent: ReplyIntent
    return_date: date | None
    summary: str
    suggested_reply: str | None
    confidence: float = Field(ge=0.0, le=1.0)
    # referral: the address the reply points to, when it gives one.
    new_address: str | None = None


class LeadInput(BaseModel):
    name: str | None = None
    email: str
    company: str | None = None
    website: str | None = None
    job_title: str | None = None
    contact_type: str = "lead"
    domain_authority: int | None = None
    engagement_tier: str = "new"
    emails_sent: int = 0
    emails_opened: int = 0
    emails_clicked: int = 0
    replies: int = 0
    notes: str | None = None


class LeadScore(BaseModel):
    score: int = Field(ge=0, le=100)
    reasoning: str


class BacklinkPitchInput(BaseModel):
    brand_name: str
    target_url: str
    target_domain: str
    domain_authority: int | None = None
    our_content_url: str
    our_content_title: str | None = None
    contact_name: str | None = None
    notes: str | None = None


class BacklinkPitch(BaseModel):
    outreach_angle: str
    anchor_text_suggestion: str
    subject: str
    body_paragraphs: list[str]


class SalutationInput(BaseModel):
    name: str | None = None
    email: str
    company: str | None = None


class Salutation(BaseModel):
    greeting: str
    first_name: str | None


T = TypeVar("T", bound=BaseModel)


class AIResult(BaseModel, Generic[T]):
    """A value plus what it cost, so every decision can be logged (AIDecisionLog)."""

    value: T
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
