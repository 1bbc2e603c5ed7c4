"""Bulk enrolment: many contacts into one pipeline, every deal in one transaction. Contacts
that cannot be enrolled are skipped with a reason; the workflows start after the commit."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from dealpilot.core.errors import Unprocessable
from dealpilot.deals import sequences
from dealpilot.deals.lookup import get_referenced
from dealpilot.deals.schemas import BulkEnrolRequest, BulkSkipped
from dealpilot.deals.service import OPEN_STATUSES
from models import Contact, Deal, DealStatus, Pipeline, PipelineStage, Suppression
from models.contact import normalise_email


def _first_stage(session: Session, pipeline_id: int) -> PipelineStage:
    stage: PipelineStage | None = session.execute(
        select(PipelineStage)
        .where(col(PipelineStage.pipeline_id) == pipeline_id)
        .order_by(col(PipelineStage.order))
        .limit(1)
    ).scalar_one_or_none()
    if stage is None:
        raise Unprocessable(
            f"Pipeline {pipeline_id} has no stages yet", code="pipeline_has_no_stages"
        )
    return stage


class _Picker:
    """Collects the contacts to enrol, in request order, each once."""

    def __init__(self) -> None:
        self.chosen: list[Contact] = []
        self.skipped: list[BulkSkipped] = []
        self._seen: set[int] = set()

    def skip(
        self, reason: str, message: str, *, contact: Contact | None = None, **who: object
    ) -> None:
        if contact is not None:
            who = {"contact_id": contact.id, "email": contact.email}
        self.skipped.append(BulkSkipped(reason=reason, message=message, **who))

    def take(self, contact: Contact) -> None:
        assert contact.id is not None
        if contact.id in self._seen:
            self.skip("duplicate", "listed more than once in this request", contact=contact)
            return
        self._seen.add(contact.id)
        self.chosen.append(contact)


def _by_ids(session: Session, picker: _Picker, ids: list[int], pipeline: Pipeline) -> None:
    # Locked, as in single creation, so a concurrent request cannot open a second deal.
    rows = session.execute(
        select(Contact).where(col(Contact.id).in_(set(ids))).with_for_update()
    ).scalars()
    found = {c.id: c for c in rows}
    for contact_id in ids:
        contact = found.get(contact_id)
        if contact is None:
            picker.skip("unknown_contact", "no such contact", contact_id=contact_id)
        elif contact.brand_id != pipeline.brand_id:
            picker.skip("brand_mismatch", "the contact belongs to another brand", contact=contact)
        else:
            picker.take(contact)


def _by_emails(session: Session, picker: _Picker, emails: list[str], brand_id: int) -> None:
    wanted: list[str] = []
    for raw in emails:
        try:
            wanted.append(normalise_email(raw))
        except ValueError as exc:
            picker.skip("invalid_email", str(exc), email=raw)
    existing = {
        c.email: c
        for c in session.execute(
            select(Contact)
            .where(col(Contact.brand_id) == brand_id, col(Contact.email).in_(set(wanted)))
            .with_for_update()
        ).scalars()
    }
    for email in dict.fromkeys(wanted):
        if email not in existing:
            contact = Contact(brand_id=brand_id, email=email, source="bulk enrolment")
            session.add(contact)
            existing[email] = contact
    session.flush()
    for email in wanted:
        picker.take(existing[email])


def _drop(picker: _Picker, blocked: dict[int, tuple[str, str]]) -> None:
    keep = []
    for contact in picker.chosen:
        if contact.id in blocked:
            reason, message = blocked[contact.id]
            picker.skip(reason, message, contact=contact)
        else:
            keep.append(contact)
    picker.chosen = keep


def enrol(
    session: Session, req: BulkEnrolRequest
) -> tuple[list[Deal], list[Contact], list[BulkSkipped]]:
    """Creates the deals (flushed, not committed): (deals, their contacts, skipped)."""
    pipeline = get_referenced(session, Pipeline, req.pipeline_id, field="pipeline_id")
    assert pipeline.id is not None
    stage = _first_stage(session, pipeline.id)
    sequence_id = sequences.for_enrolment(session, pipeline.id, req.sequence_id)
    picker = _Picker()
    _by_ids(session, picker, req.contact_ids, pipeline)
    _by_emails(session, picker, req.emails, pipeline.brand_id)

    ids = [c.id for c in picker.chosen]
    emails = {c.email for c in picker.chosen}
    suppressed: dict[str, str] = {
        email: str(reason)
        for email, reason in session.execute(
            select(col(Suppression.email), col(Suppression.reason)).where(
                col(Suppression.brand_id) == pipeline.brand_id, col(Suppression.email).in_(emails)
            )
        ).all()
    }
    blocked: dict[int, tuple[str, str]] = {
        c.id: ("suppressed", f"the brand may not email this address ({suppressed[c.email]})")
        for c in picker.chosen
        if c.email in suppressed and c.id is not None
    }
    open_deals = session.execute(
        select(col(Deal.contact_id), col(Deal.id)).where(
            col(Deal.pipeline_id) == pipeline.id,
            col(Deal.contact_id).in_(ids),
            col(Deal.status).in_(OPEN_STATUSES),
        )
    ).all()
    for contact_id, deal_id in open_deals:
        blocked.setdefault(
            contact_id, ("open_deal_exists", f"already has open deal {deal_id} in this pipeline")
        )
    _drop(picker, blocked)

    assert stage.id is not None
    deals = [
        Deal(
            contact_id=c.id or 0,
            pipeline_id=pipeline.id,
            stage_id=stage.id,
            status=DealStatus.active,
            sequence_id=sequence_id,
            value=pipeline.default_deal_value,
        )
        for c in picker.chosen
    ]
    session.add_all(deals)
    session.flush()
    return deals, picker.chosen, picker.skipped
