"""Contacts for the console: a brand-scoped, searchable, paged list; a contact's page (its
deals in that brand, suppression, emails); the suppression list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from dealpilot.accounts import BrandScope
from dealpilot.contacts.filters import like_pattern
from dealpilot.core.errors import NotFound
from models import Brand, Contact, Deal, EmailLog, Pipeline, PipelineStage, Suppression
from models.pagination import Page, PageParams, paginate

EMAILS = 50


@dataclass
class ContactRow:
    id: int
    email: str
    name: str
    company: str
    brand: str
    deals: int
    suppressed: str  # the reason, or ""


@dataclass
class ContactDeal:
    deal_id: int
    pipeline: str
    stage: str
    status: str
    tier: str


@dataclass
class ContactView:
    contact: Contact
    brand: str
    deals: list[ContactDeal]
    suppression: Suppression | None
    emails: list[EmailLog]


def _brand_condition(scope: BrandScope, brand: str) -> Any:
    condition = scope.condition(Contact.brand_id)
    if brand:
        condition = and_(condition, col(Brand.slug) == brand)
    return condition


def contact_list(
    session: Session, scope: BrandScope, page: PageParams, *, search: str = "", brand: str = ""
) -> Page[ContactRow]:
    deals = (
        select(func.count())
        .select_from(Deal)
        .where(col(Deal.contact_id) == col(Contact.id))
        .correlate(Contact)
        .scalar_subquery()
    )
    stmt: Any = (
        select(Contact, Brand.slug, deals, Suppression.reason)
        .join(Brand, col(Brand.id) == col(Contact.brand_id))
        .outerjoin(
            Suppression,
            and_(
                col(Suppression.brand_id) == col(Contact.brand_id),
                col(Suppression.email) == col(Contact.email),
            ),
        )
        .where(_brand_condition(scope, brand))
    )
    if search.strip():
        like = like_pattern(search.strip().lower())
        stmt = stmt.where(
            or_(
                func.lower(Contact.email).like(like, escape="\\"),
                func.lower(Contact.name).like(like, escape="\\"),
                func.lower(Contact.company).like(like, escape="\\"),
            )
        )
    stmt = stmt.order_by(col(Contact.created_at).desc(), col(Contact.id).desc())

    def row(r: Any) -> ContactRow:
        c, slug, count, reason = r
        return ContactRow(c.id or 0, c.email, c.name, c.company, slug, count, reason or "")

    return paginate(session, stmt, page, row)


def contact_view(session: Session, scope: BrandScope, contact_id: int) -> ContactView:
    contact = session.get(Contact, contact_id)
    if contact is None or not scope.allows(contact.brand_id):
        raise NotFound(f"Contact {contact_id} not found")
    brand = session.get(Brand, contact.brand_id)
    assert brand is not None
    deals = session.exec(
        select(Deal, Pipeline.name, PipelineStage.name)
        .join(Pipeline, col(Pipeline.id) == col(Deal.pipeline_id))
        .join(PipelineStage, col(PipelineStage.id) == col(Deal.stage_id))
        .where(Deal.contact_id == contact_id)
        .order_by(col(Deal.created_at).desc())
    ).all()
    return ContactView(
        contact=contact,
        brand=brand.name,
        deals=[
            ContactDeal(d.id or 0, pipeline, stage, d.status, d.engagement_tier)
            for d, pipeline, stage in deals
        ],
        suppression=session.exec(
            select(Suppression).where(
                Suppression.brand_id == contact.brand_id, Suppression.email == contact.email
            )
        ).first(),
        emails=list(
            session.exec(
                select(EmailLog)
                .where(EmailLog.contact_id == contact_id)
                .order_by(col(EmailLog.created_at).desc())
                .limit(EMAILS)
            ).all()
        ),
    )


def suppression_list(
    session: Session, scope: BrandScope, page: PageParams, *, brand: str = ""
) -> Page[tuple[Suppression, str]]:
    stmt: Any = (
        select(Suppression, Brand.slug)
        .join(Brand, col(Brand.id) == col(Suppression.brand_id))
        .where(scope.condition(Suppression.brand_id))
        .order_by(col(Suppression.created_at).desc(), col(Suppression.id).desc())
    )
    if brand:
        stmt = stmt.where(col(Brand.slug) == brand)
    return paginate(session, stmt, page, lambda r: (r[0], r[1]))


def brands_in_scope(session: Session, scope: BrandScope) -> list[Brand]:
    return list(
        session.exec(select(Brand).where(scope.condition(Brand.id)).order_by(col(Brand.slug))).all()
    )
