from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import or_, select
from sqlmodel import Session, col

from api.deps import IdPath, PageDep, SessionDep
from api.routing import CRMRouter
from dealpilot.contacts.filters import has_tag, like_pattern
from dealpilot.core.errors import Conflict
from dealpilot.deals.lookup import get_or_404, get_referenced, resolve_brand_id
from dealpilot.deals.updates import apply_update
from models import Brand, Contact, ContactType, utcnow
from models.contact import ContactCreate, ContactPublic, ContactUpdate
from models.pagination import Page, paginate

router = CRMRouter(prefix="/contacts", tags=["contacts"])


def _check_unique(session: Session, brand_id: int, email: str, *, excluding: int | None) -> None:
    stmt = select(col(Contact.id)).where(
        col(Contact.brand_id) == brand_id, col(Contact.email) == email
    )
    if excluding is not None:
        stmt = stmt.where(col(Contact.id) != excluding)
    if session.execute(stmt).first() is not None:
        raise Conflict(
            f"The brand already has a contact with email {email}", code="duplicate_contact"
        )


def _public(contact: Any) -> ContactPublic:
    return ContactPublic.model_validate(contact)


@router.get("/", response_model=Page[ContactPublic])
def list_contacts(
    session: SessionDep,
    page: PageDep,
    search: Annotated[
        str | None, Query(max_length=200, description="Name, email or company")
    ] = None,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    contact_type: ContactType | None = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[ContactPublic]:
    stmt = select(Contact).order_by(col(Contact.id).desc())
    brand_id = resolve_brand_id(session, brand)
    if brand_id is not None:
        stmt = stmt.where(col(Contact.brand_id) == brand_id)
    if search:
        pattern = like_pattern(search)
        stmt = stmt.where(
            or_(
                col(Contact.name).ilike(pattern, escape="\\"),
                col(Contact.email).ilike(pattern, escape="\\"),
                col(Contact.company).ilike(pattern, escape="\\"),
            )
        )
    if contact_type is not None:
        stmt = stmt.where(col(Contact.contact_type) == contact_type)
    if tag is not None:
        stmt = stmt.where(has_tag(session, tag))
    return paginate(session, stmt, page, _public)


@router.post("/", response_model=ContactPublic, status_code=201)
def create_contact(data: ContactCreate, session: SessionDep) -> ContactPublic:
    get_referenced(session, Brand, data.brand_id, field="brand_id")
    _check_unique(session, data.brand_id, data.email, excluding=None)
    contact = Contact.model_validate(data)
    session.add(contact)
    session.flush()
    return _public(contact)


@router.get("/{contact_id}/", response_model=ContactPublic)
def get_contact(contact_id: IdPath, session: SessionDep) -> ContactPublic:
    return _public(get_or_404(session, Contact, contact_id, what="Contact"))


@router.patch("/{contact_id}/", response_model=ContactPublic)
def update_contact(contact_id: IdPath, data: ContactUpdate, session: SessionDep) -> ContactPublic:
    contact = get_or_404(session, Contact, contact_id, what="Contact")
    if data.email is not None and data.email != contact.email:
        _check_unique(session, contact.brand_id, data.email, excluding=contact.id)
    apply_update(contact, data, nullable={"domain_authority", "ai_score", "timezone"})
    contact.updated_at = utcnow()
    session.add(contact)
    session.flush()
    return _public(contact)
