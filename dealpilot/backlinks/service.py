"""Enrolling backlink opportunities into outreach: each needs a contact, gets a deal in the
pipeline's first stage (the bulk enrolment's code), and points at it (`deal_id`, status
outreaching). The caller commits, then starts the workflows."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlmodel import Session, col

from dealpilot.core.errors import ErrorDetail, Unprocessable
from dealpilot.deals import bulk as bulk_service
from dealpilot.deals.lookup import get_referenced
from dealpilot.deals.schemas import BulkEnrolRequest
from dealpilot.deals.service import OPEN_STATUSES
from models import (
    BacklinkOpportunity,
    BacklinkStatus,
    Contact,
    ContactType,
    Deal,
    Pipeline,
    PipelineType,
)
from models.contact import normalise_email
from models.types import Id

MAX_ENROL = 1000
# source_data columns (compared lowercased) that may hold the site owner's address.
EMAIL_COLUMNS = ("contact email", "email", "e-mail", "email address", "author email")


class BacklinkEnrolRequest(BaseModel):
    ids: list[Id] = Field(min_length=1, max_length=MAX_ENROL)
    pipeline_id: Id | None = Field(
        default=None, description="Default: the brand's Backlink Outreach pipeline"
    )
    contact_email: str | None = Field(
        default=None,
        max_length=320,
        description="The site owner's address, for a single opportunity without a contact",
    )

    @model_validator(mode="after")
    def _one_for_email(self) -> BacklinkEnrolRequest:
        if self.contact_email is not None and len(set(self.ids)) != 1:
            raise ValueError("contact_email can only be given with one opportunity id")
        return self


class EnrolledOpportunity(BaseModel):
    opportunity_id: int
    deal_id: int
    contact_id: int
    email: str
    workflow_id: str | None = None


class SkippedOpportunity(BaseModel):
    opportunity_id: int
    # unknown_opportunity | brand_mismatch | already_enrolled | no_contact | invalid_email
    # | duplicate | open_deal_exists | suppressed
    reason: str
    message: str


@dataclass
class Enrolment:
    pipeline_id: int
    enrolled: list[EnrolledOpportunity] = field(default_factory=list)
    skipped: list[SkippedOpportunity] = field(default_factory=list)


def _pipeline(session: Session, req: BacklinkEnrolRequest, brand_id: int) -> Pipeline:
    if req.pipeline_id is not None:
        pipeline = get_referenced(session, Pipeline, req.pipeline_id, field="pipeline_id")
        if pipeline.brand_id != brand_id:
            raise Unprocessable(
                "The pipeline belongs to another brand",
                code="brand_mismatch",
                details=[ErrorDetail(field="pipeline_id", problem="pipeline of another brand")],
            )
        return pipeline
    found: Pipeline | None = session.execute(
        select(Pipeline)
        .where(
            col(Pipeline.brand_id) == brand_id,
            col(Pipeline.pipeline_type) == PipelineType.backlink,
            col(Pipeline.is_active).is_(True),
        )
        .order_by(col(Pipeline.id))
        .limit(1)
    ).scalar_one_or_none()
    if found is None:
        raise Unprocessable(
            "The brand has no active backlink pipeline; give pipeline_id",
            code="no_backlink_pipeline",
            details=[ErrorDetail(field="pipeline_id", problem="required for this brand")],
        )
    return found


def row_email(opp: BacklinkOpportunity) -> str | None:
    data = {key.strip().lower(): value for key, value in (opp.source_data or {}).items()}
    for name in EMAIL_COLUMNS:
        if (data.get(name) or "").strip():
            return data[name].strip()
    return None


def _contact(
    session: Session, opp: BacklinkOpportunity, given: str | None
) -> Contact | SkippedOpportunity:
    assert opp.id is not None
    if opp.contact_id is not None:
        contact = session.get(Contact, opp.contact_id)
        if contact is not None:
            return contact
    raw = given or row_email(opp)
    if raw is None:
        return SkippedOpportunity(
            opportunity_id=opp.id,
            reason="no_contact",
            message="no contact: set contact_id, give contact_email, or import a row email",
        )
    try:
        email = normalise_email(raw)
    except ValueError as exc:
        return SkippedOpportunity(opportunity_id=opp.id, reason="invalid_email", message=str(exc))
    contact = session.execute(
        select(Contact).where(col(Contact.brand_id) == opp.brand_id, col(Contact.email) == email)
    ).scalar_one_or_none()
    if contact is None:
        contact = Contact(
            brand_id=opp.brand_id,
            email=email,
            website=f"https://{opp.target_domain}/",
            contact_type=ContactType.backlink_target,
            domain_authority=opp.domain_authority,
            source=f"backlink opportunity {opp.id}",
        )
        session.add(contact)
        session.flush()
    opp.contact_id = contact.id
    session.add(opp)
    return contact


def enrol(session: Session, req: BacklinkEnrolRequest) -> Enrolment:
    """Creates the deals (flushed, not committed)."""
    ids = list(dict.fromkeys(req.ids))
    rows = {
        o.id: o
        for o in session.execute(
            select(BacklinkOpportunity)
            .where(col(BacklinkOpportunity.id).in_(ids))
            .with_for_update()
        ).scalars()
    }
    known = [rows[i] for i in ids if i in rows]
    if not known:
        raise Unprocessable(
            "None of the opportunities exist",
            code="invalid_reference",
            details=[ErrorDetail(field="ids", problem="no such opportunities")],
        )
    pipeline = _pipeline(session, req, known[0].brand_id)
    assert pipeline.id is not None
    result = Enrolment(pipeline_id=pipeline.id)

    def skip(opportunity_id: int, reason: str, message: str) -> None:
        result.skipped.append(
            SkippedOpportunity(opportunity_id=opportunity_id, reason=reason, message=message)
        )

    open_deals = {
        deal_id
        for (deal_id,) in session.execute(
            select(col(Deal.id)).where(
                col(Deal.id).in_([o.deal_id for o in known if o.deal_id is not None]),
                col(Deal.status).in_(OPEN_STATUSES),
            )
        ).all()
    }
    by_contact: dict[int, list[BacklinkOpportunity]] = {}
    for opportunity_id in ids:
        opp = rows.get(opportunity_id)
        if opp is None:
            skip(opportunity_id, "unknown_opportunity", "no such opportunity")
        elif opp.brand_id != pipeline.brand_id:
            skip(opportunity_id, "brand_mismatch", "the opportunity belongs to another brand")
        elif opp.deal_id in open_deals:
            skip(opportunity_id, "already_enrolled", f"already in open deal {opp.deal_id}")
        else:
            contact = _contact(session, opp, req.contact_email)
            if isinstance(contact, SkippedOpportunity):
                result.skipped.append(contact)
            else:
                assert contact.id is not None
                by_contact.setdefault(contact.id, []).append(opp)
    if not by_contact:
        return result
    deals, contacts, skipped = bulk_service.enrol(
        session, BulkEnrolRequest(pipeline_id=pipeline.id, contact_ids=list(by_contact))
    )
    for skipped_contact in skipped:
        for opp in by_contact.pop(skipped_contact.contact_id or 0, []):
            skip(opp.id or 0, skipped_contact.reason, skipped_contact.message)
    for deal, contact in zip(deals, contacts, strict=True):
        first, *rest = by_contact[contact.id or 0]
        for other in rest:  # one deal per contact and pipeline: the first opportunity gets it
            skip(other.id or 0, "duplicate", f"same contact as opportunity {first.id}")
        assert first.id is not None
        assert deal.id is not None
        assert contact.id is not None
        first.deal_id = deal.id
        first.status = BacklinkStatus.outreaching
        session.add(first)
        result.enrolled.append(
            EnrolledOpportunity(
                opportunity_id=first.id, deal_id=deal.id, contact_id=contact.id, email=contact.email
            )
        )
    session.flush()
    position = {opportunity_id: index for index, opportunity_id in enumerate(ids)}
    result.skipped.sort(key=lambda s: position.get(s.opportunity_id, 0))
    return result
