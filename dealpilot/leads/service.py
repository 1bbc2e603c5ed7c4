"""Inbound leads from a brand's website: a chatbot conversation or a contact form inquiry
becomes a contact and a deal (what the original system's `post_save` signals on ChatLead and
ContactInquiry did). A lead wrote to us first: its deal starts at the stage a person owns
(the pipeline's reply stage, "Responded"), never in the cold sequence, and what the lead
asked goes to the deal as a reply, so the AI drafts an answer that waits for a person.

Functions flush, never commit. A new deal is made by `dealpilot.deals.service.create_deal`, the same
path as `POST /api/crm/deals/`, and its workflow starts after the request's commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col
from temporalio.service import RPCError

from dealpilot.core.errors import ErrorDetail, Unprocessable
from dealpilot.deals import service as deal_service
from dealpilot.deals.lookup import resolve_brand_id
from dealpilot.temporal.deals import DealWorkflows
from models import (
    Contact,
    ContactType,
    Deal,
    Pipeline,
    PipelineStage,
    PipelineType,
    StageKind,
    utcnow,
)
from models.contact import Suppression, normalise_email
from models.deal import DealCreate
from workflows.contracts import ReplyEvent
from workflows.deal import DealWorkflow

log = structlog.get_logger(__name__)

LeadKind = Literal["chatbot", "inquiry"]

# The contact's `source` when the request does not name one.
DEFAULT_SOURCE: dict[str, str] = {"chatbot": "chatbot", "inquiry": "contact form"}
# Filled only where the contact has no value yet: an operator's edits are never overwritten.
FILLABLE = ("name", "company", "phone", "website")


class LeadIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    brand: str | int = Field(description="Brand slug or id")
    kind: LeadKind = Field(description="chatbot or inquiry: both get a contact and a deal")
    email: str = Field(max_length=320)
    name: str = Field("", max_length=200)
    company: str = Field("", max_length=200)
    phone: str = Field("", max_length=64)
    website: str = Field("", max_length=500)
    message: str = Field("", max_length=20_000)
    source: str = Field("", max_length=100, description="Default: 'chatbot' / 'contact form'")
    pipeline: str | None = Field(
        None,
        max_length=64,
        description="Pipeline slug of the brand (default: its sales pipeline; a chatbot lead "
        "of a brand without one gets a contact only)",
    )

    _email = field_validator("email")(normalise_email)


class LeadContact(BaseModel):
    id: int
    email: str
    created: bool
    filled: list[str] = Field(description="Empty fields this lead filled in")


class LeadDeal(BaseModel):
    id: int
    pipeline_id: int
    pipeline_slug: str
    stage: str
    status: str
    created: bool = Field(description="False: the contact's open deal in the pipeline, reused")
    workflow_id: str | None


class LeadResult(BaseModel):
    kind: LeadKind
    contact: LeadContact
    deal: LeadDeal | None
    suppressed: bool = Field(description="The brand may not email this address: no deal")
    suppression_reason: str | None = None
    summary: str


@dataclass
class Intake:
    """What one lead did to the database (flushed, not committed)."""

    kind: LeadKind
    contact: Contact
    contact_created: bool
    filled: list[str]
    pipeline: Pipeline | None = None
    deal: Deal | None = None
    deal_created: bool = False
    suppression: str | None = None
    new_message: bool = False  # a message not seen before: it goes to the deal as a reply

    @property
    def created_anything(self) -> bool:
        return self.contact_created or self.deal_created


def _pipeline_for(session: Session, brand_id: int, slug: str | None) -> Pipeline:
    stmt = select(Pipeline).where(col(Pipeline.brand_id) == brand_id)
    if slug is not None:
        found: Pipeline | None = session.execute(
            stmt.where(col(Pipeline.slug) == slug)
        ).scalar_one_or_none()
        if found is None:
            raise Unprocessable(
                f"The brand has no pipeline {slug!r}",
                code="unknown_pipeline",
                details=[ErrorDetail(field="pipeline", problem="no pipeline with this slug")],
            )
        return found
    sales: Pipeline | None = session.execute(
        stmt.where(
            col(Pipeline.pipeline_type) == PipelineType.sales, col(Pipeline.is_active).is_(True)
        )
        .order_by(col(Pipeline.id))
        .limit(1)
    ).scalar_one_or_none()
    if sales is None:
        raise Unprocessable(
            "The brand has no active sales pipeline; name one in `pipeline`",
            code="no_sales_pipeline",
            details=[ErrorDetail(field="pipeline", problem="required for this brand")],
        )
    return sales


def _optional_pipeline(session: Session, brand_id: int, lead: LeadIn) -> Pipeline | None:
    """An inquiry needs a pipeline; a chatbot chat without one named or a sales pipeline
    stays a contact."""
    try:
        return _pipeline_for(session, brand_id, lead.pipeline)
    except Unprocessable as exc:
        if lead.kind == "chatbot" and exc.code == "no_sales_pipeline":
            return None
        raise


def _warm_stage(session: Session, pipeline_id: int) -> int | None:
    """Where a lead's deal starts: the reply stage (a person owns it, nothing is sent by
    itself), else the first manual stage, else the pipeline's first stage (None)."""
    stages = deal_service.stages_in_order(session, pipeline_id)
    for kind in (StageKind.reply, StageKind.manual):
        found = next((s for s in stages if s.kind == kind), None)
        if found is not None:
            return found.id
    return None


def _locked_contact(session: Session, brand_id: int, email: str) -> Contact | None:
    # Locked so that two deliveries of the same lead are applied one after the other.
    return session.execute(
        select(Contact)
        .where(col(Contact.brand_id) == brand_id, col(Contact.email) == email)
        .with_for_update()
    ).scalar_one_or_none()


def _get_or_create_contact(session: Session, brand_id: int, lead: LeadIn) -> tuple[Contact, bool]:
    contact = _locked_contact(session, brand_id, lead.email)
    if contact is not None:
        return contact, False
    contact = Contact(
        brand_id=brand_id,
        email=lead.email,
        contact_type=ContactType.lead,
        source=lead.source or DEFAULT_SOURCE[lead.kind],
    )
    if session.get_bind().dialect.name != "postgresql":
        # SQLite runs one writer at a time (and pysqlite's savepoints are unreliable).
        session.add(contact)
        session.flush()
        return contact, True
    try:
        with session.begin_nested():
            session.add(contact)
            session.flush()
    except IntegrityError:
        # A concurrent request created it first: use theirs (the savepoint undid our insert).
        existing = _locked_contact(session, brand_id, lead.email)
        if existing is None:
            raise
        return existing, False
    return contact, True


def _fill(contact: Contact, lead: LeadIn, *, created: bool) -> list[str]:
    filled = [f for f in FILLABLE if getattr(lead, f) and not getattr(contact, f)]
    for name in filled:
        setattr(contact, name, getattr(lead, name))
    if not contact.source:
        contact.source = lead.source or DEFAULT_SOURCE[lead.kind]
        filled.append("source")
    if lead.message:
        label = "Chatbot" if lead.kind == "chatbot" else "Inquiry"
        line = f"{label} ({utcnow():%Y-%m-%d}): {lead.message}"
        # A redelivered webhook must not append the same message twice.
        if lead.message not in contact.notes:
            contact.notes = f"{contact.notes}\n\n{line}" if contact.notes else line
            filled.append("notes")
    if filled and not created:
        contact.updated_at = utcnow()
    return [] if created else filled


def _suppression(session: Session, brand_id: int, email: str) -> str | None:
    reason = session.execute(
        select(col(Suppression.reason)).where(
            col(Suppression.brand_id) == brand_id, col(Suppression.email) == email
        )
    ).scalar_one_or_none()
    return None if reason is None else str(reason)


def _open_deal(session: Session, contact_id: int, pipeline_id: int) -> Deal | None:
    return session.execute(
        select(Deal)
        .where(
            col(Deal.contact_id) == contact_id,
            col(Deal.pipeline_id) == pipeline_id,
            col(Deal.status).in_(deal_service.OPEN_STATUSES),
        )
        .order_by(col(Deal.id).desc())
        .limit(1)
    ).scalar_one_or_none()


def take_lead(session: Session, lead: LeadIn) -> Intake:
    """Applies the lead: the contact (get or create per brand and email, empty fields filled)
    and, for an inquiry to an address the brand may email, the contact's open deal in the
    pipeline or a new one. Everything the request refers to is checked before any write."""
    brand_id = resolve_brand_id(session, str(lead.brand))
    assert brand_id is not None
    pipeline = _optional_pipeline(session, brand_id, lead)
    contact, created = _get_or_create_contact(session, brand_id, lead)
    filled = _fill(contact, lead, created=created)
    new_message = bool(lead.message) and (created or "notes" in filled)
    session.add(contact)
    session.flush()
    intake = Intake(lead.kind, contact, created, filled, pipeline=pipeline, new_message=new_message)
    intake.suppression = _suppression(session, brand_id, contact.email)
    if pipeline is None or intake.suppression is not None:
        return intake
    assert contact.id is not None
    assert pipeline.id is not None
    intake.deal = _open_deal(session, contact.id, pipeline.id)
    if intake.deal is None:
        stage_id = _warm_stage(session, pipeline.id)
        intake.deal = deal_service.create_deal(
            session, DealCreate(contact_id=contact.id, pipeline_id=pipeline.id, stage_id=stage_id)
        )
        intake.deal_created = True
    return intake


async def hand_message_to_deal(
    workflows: DealWorkflows | None, intake: Intake, lead: LeadIn
) -> bool:
    """After the commit (and the new deal's start): the lead's message reaches its deal as a
    reply, so the workflow classifies it, stops any sequence and drafts an answer for a
    person. False when it could not be delivered (no Temporal): the contact's notes keep it."""
    deal = intake.deal
    if workflows is None or deal is None or deal.id is None or not intake.new_message:
        return False
    what = "chat" if lead.kind == "chatbot" else "inquiry"
    reply = ReplyEvent(
        text=lead.message, subject=f"Your {what} to {intake.contact.email}", from_email=lead.email
    )
    try:
        await workflows.signal(deal.id, DealWorkflow.reply_received, reply)
    except RPCError as exc:
        log.warning("lead.message_not_delivered", deal_id=deal.id, status=exc.status.name)
        return False
    return True


def _summary(intake: Intake) -> str:
    if intake.contact_created:
        parts = ["contact created"]
    elif intake.filled:
        parts = [f"existing contact (filled: {', '.join(intake.filled)})"]
    else:
        parts = ["existing contact, unchanged"]
    if intake.pipeline is not None:
        if intake.suppression is not None:
            parts.append(f"no deal: the address is suppressed ({intake.suppression})")
        elif intake.deal_created:
            parts.append("deal created")
        else:
            parts.append("existing open deal reused")
    return "; ".join(parts)


def stage_name(session: Session, stage_id: int) -> str:
    stage = session.get(PipelineStage, stage_id)
    return "" if stage is None else stage.name


def result(session: Session, intake: Intake, *, workflow_id: str | None) -> LeadResult:
    """The response, read after the commit (and after the new deal's workflow started)."""
    contact = intake.contact
    deal: LeadDeal | None = None
    if intake.deal is not None and intake.pipeline is not None:
        session.expire_all()  # the started workflow may have written the deal meanwhile
        row = session.get(Deal, intake.deal.id)
        assert row is not None
        assert row.id is not None
        deal = LeadDeal(
            id=row.id,
            pipeline_id=row.pipeline_id,
            pipeline_slug=intake.pipeline.slug,
            stage=stage_name(session, row.stage_id),
            status=str(row.status),
            created=intake.deal_created,
            workflow_id=workflow_id if intake.deal_created else row.workflow_id,
        )
    return LeadResult(
        kind=intake.kind,
        contact=LeadContact(
            id=contact.id or 0,
            email=contact.email,
            created=intake.contact_created,
            filled=intake.filled,
        ),
        deal=deal,
        suppressed=intake.suppression is not None,
        suppression_reason=intake.suppression,
        summary=_summary(intake),
    )
