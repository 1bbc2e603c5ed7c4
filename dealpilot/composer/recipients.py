"""The composer's recipients: the brand and pipeline a request names, the brand's contacts
(search, saved filter) and what sending would do with each listed, pasted or filtered
recipient (valid / new / invalid / suppressed / open deal / duplicate). Read-only."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_
from sqlmodel import Session, col, select

from dealpilot.composer import rules
from dealpilot.composer.rules import RecipientFilter
from dealpilot.composer.schemas import (
    SENDABLE,
    RecipientStatus,
    Resolution,
    ResolvedRecipient,
    ResolveRequest,
)
from dealpilot.contacts.filters import has_tag, like_pattern
from dealpilot.core.errors import ErrorDetail, NotFound, Unprocessable
from dealpilot.deals.lookup import brand_by_ref
from dealpilot.deals.schemas import MAX_BULK_CONTACTS
from dealpilot.deals.service import OPEN_STATUSES
from models import Brand, Contact, Deal, DraftKind, EmailDraft, Pipeline, PipelineStage, Suppression
from models.types import is_row_id


def pipeline_by_ref(session: Session, brand: Brand, ref: str) -> Pipeline:
    """A pipeline by id, or by slug within the brand."""
    pipeline = (
        session.get(Pipeline, int(ref))
        if is_row_id(ref)
        else session.exec(
            select(Pipeline).where(Pipeline.brand_id == brand.id, Pipeline.slug == ref)
        ).first()
    )
    if pipeline is None:
        raise Unprocessable(
            f"No pipeline {ref!r}",
            code="unknown_pipeline",
            details=[ErrorDetail(field="pipeline", problem="no pipeline with this id or slug")],
        )
    if pipeline.brand_id != brand.id:
        raise Unprocessable(
            f"Pipeline {ref!r} belongs to another brand; brands are isolated",
            code="brand_mismatch",
            details=[ErrorDetail(field="pipeline", problem="pipeline of another brand")],
        )
    return pipeline


def first_stage(session: Session, pipeline_id: int) -> PipelineStage:
    stage = session.exec(
        select(PipelineStage)
        .where(PipelineStage.pipeline_id == pipeline_id)
        .order_by(col(PipelineStage.order))
    ).first()
    if stage is None:
        raise Unprocessable(
            f"Pipeline {pipeline_id} has no stages yet", code="pipeline_has_no_stages"
        )
    return stage


def get_draft(session: Session, draft_id: int, *, lock: bool = False) -> EmailDraft:
    stmt = select(EmailDraft).where(
        EmailDraft.id == draft_id, col(EmailDraft.kind) == DraftKind.composer
    )
    draft = session.exec(stmt.with_for_update() if lock else stmt).first()
    if draft is None:
        raise NotFound(f"Composer draft {draft_id} does not exist")
    return draft


def search_contacts(
    session: Session, brand_id: int, q: str | None, *, limit: int = 20
) -> list[Contact]:
    """The brand's contacts whose name, email or company contains `q` (newest first)."""
    stmt = select(Contact).where(Contact.brand_id == brand_id)
    if q and q.strip():
        pattern = like_pattern(q.strip())
        stmt = stmt.where(
            or_(
                col(Contact.name).ilike(pattern, escape="\\"),
                col(Contact.email).ilike(pattern, escape="\\"),
                col(Contact.company).ilike(pattern, escape="\\"),
            )
        )
    return list(session.exec(stmt.order_by(col(Contact.id).desc()).limit(limit)).all())


def filter_contacts(session: Session, brand_id: int, filt: RecipientFilter) -> list[Contact]:
    stmt = select(Contact).where(Contact.brand_id == brand_id)
    for tag in filt.tags:
        stmt = stmt.where(has_tag(session, tag))
    if filt.contact_type is not None:
        stmt = stmt.where(Contact.contact_type == filt.contact_type)
    if filt.source:
        stmt = stmt.where(Contact.source == filt.source)
    if filt.q and filt.q.strip():
        pattern = like_pattern(filt.q.strip())
        stmt = stmt.where(
            or_(
                col(Contact.name).ilike(pattern, escape="\\"),
                col(Contact.email).ilike(pattern, escape="\\"),
                col(Contact.company).ilike(pattern, escape="\\"),
            )
        )
    rows = list(session.exec(stmt.order_by(col(Contact.id)).limit(MAX_BULK_CONTACTS + 1)).all())
    if len(rows) > MAX_BULK_CONTACTS:
        raise Unprocessable(
            f"The filter matches more than {MAX_BULK_CONTACTS} contacts; narrow it down",
            code="too_many_recipients",
            details=[ErrorDetail(field="filter", problem="matches too many contacts")],
        )
    return rows


def _pasted_list(addresses: str | list[str]) -> str:
    return addresses if isinstance(addresses, str) else "\n".join(addresses)


def resolve(
    session: Session,
    brand: Brand,
    pipeline: Pipeline | None,
    *,
    contact_ids: Sequence[int] = (),
    addresses: str | list[str] = "",
    filt: RecipientFilter | None = None,
) -> Resolution:
    """Every recipient, in order (listed contacts, pasted addresses, the filter's contacts),
    each with what sending would do with it."""
    out: list[ResolvedRecipient] = []
    found = {
        c.id: c
        for c in session.exec(select(Contact).where(col(Contact.id).in_(set(contact_ids)))).all()
    }
    for cid in contact_ids:
        contact = found.get(cid)
        if contact is None or contact.brand_id != brand.id:
            out.append(
                ResolvedRecipient(
                    input=str(cid),
                    source="contact",
                    status=RecipientStatus.unknown_contact,
                    contact_id=cid,
                    message="no such contact in this brand",
                )
            )
        else:
            out.append(_known("contact", str(cid), contact))
    for parsed in rules.parse_pasted(_pasted_list(addresses)):
        if parsed.email is None:
            out.append(
                ResolvedRecipient(
                    input=parsed.raw,
                    source="pasted",
                    status=RecipientStatus.invalid,
                    name=parsed.name,
                    message=parsed.error,
                )
            )
        else:
            out.append(
                ResolvedRecipient(
                    input=parsed.raw,
                    source="pasted",
                    status=RecipientStatus.new,
                    email=parsed.email,
                    name=parsed.name,
                )
            )
    if filt is not None:
        assert brand.id is not None
        out.extend(_known("filter", c.email, c) for c in filter_contacts(session, brand.id, filt))
    _classify(session, brand, pipeline, out)
    counts: dict[str, int] = {}
    for r in out:
        counts[r.status] = counts.get(r.status, 0) + 1
    return Resolution(
        recipients=out, counts=counts, sendable=sum(1 for r in out if r.status in SENDABLE)
    )


def _known(source: str, raw: str, contact: Contact) -> ResolvedRecipient:
    return ResolvedRecipient(
        input=raw,
        source=source,
        status=RecipientStatus.valid,
        email=contact.email,
        name=contact.name,
        contact_id=contact.id,
    )


def _classify(
    session: Session, brand: Brand, pipeline: Pipeline | None, out: list[ResolvedRecipient]
) -> None:
    candidates = [r for r in out if r.status in SENDABLE and r.email]
    emails = {r.email for r in candidates}
    existing = {
        c.email: c
        for c in session.exec(
            select(Contact).where(Contact.brand_id == brand.id, col(Contact.email).in_(emails))
        ).all()
    }
    suppressed = dict(
        session.exec(
            select(Suppression.email, Suppression.reason).where(
                Suppression.brand_id == brand.id, col(Suppression.email).in_(emails)
            )
        ).all()
    )
    open_deals: dict[int, int] = {}
    if pipeline is not None and existing:
        open_deals = {
            contact_id: deal_id or 0
            for contact_id, deal_id in session.exec(
                select(Deal.contact_id, Deal.id).where(
                    Deal.pipeline_id == pipeline.id,
                    col(Deal.contact_id).in_([c.id for c in existing.values()]),
                    col(Deal.status).in_(OPEN_STATUSES),
                )
            ).all()
        }
    seen: set[str] = set()
    for r in candidates:
        assert r.email is not None
        contact = existing.get(r.email)
        if contact is not None:
            r.contact_id, r.status = contact.id, RecipientStatus.valid
            r.name = r.name or contact.name
        if r.email in seen:
            r.status, r.message = RecipientStatus.duplicate, "listed more than once"
        elif r.email in suppressed:
            r.status = RecipientStatus.suppressed
            r.message = f"the brand may not email this address ({suppressed[r.email]})"
        elif contact is not None and contact.id in open_deals:
            r.status = RecipientStatus.open_deal
            r.message = f"already has open deal {open_deals[contact.id]} in this pipeline"
        elif contact is None:
            r.message = "a new contact is created when the draft is sent"
        seen.add(r.email)


def resolve_request(session: Session, req: ResolveRequest) -> Resolution:
    brand = brand_by_ref(session, req.brand)
    pipeline = pipeline_by_ref(session, brand, req.pipeline) if req.pipeline else None
    return resolve(
        session,
        brand,
        pipeline,
        contact_ids=req.contact_ids,
        addresses=req.addresses,
        filt=req.filter,
    )


def recipient_list(
    session: Session, brand: Brand, contact_ids: list[int], addresses: str | list[str]
) -> list[str]:
    """What the draft keeps in `recipients`; unknown contacts and invalid addresses are a
    422 listing each of them, so a person fixes the list before it is saved."""
    resolution = resolve(session, brand, None, contact_ids=contact_ids, addresses=addresses)
    bad = [
        r
        for r in resolution.recipients
        if r.status in (RecipientStatus.invalid, RecipientStatus.unknown_contact)
    ]
    if bad:
        raise Unprocessable(
            f"{len(bad)} recipient(s) cannot be used",
            code="invalid_recipients",
            details=[
                ErrorDetail(field="recipients", problem=f"{r.input}: {r.message}") for r in bad
            ],
        )
    kept: dict[str, str] = {}
    for r in resolution.recipients:
        if r.email and r.email not in kept:
            kept[r.email] = rules.format_recipient(r.email, r.name)
    return list(kept.values())
