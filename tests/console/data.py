"""Deals of both seeded brands, without workflows (pages only read them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, select

from models import (
    Brand,
    DraftKind,
    DraftStatus,
    EmailDraft,
    EmailEvent,
    EmailEventType,
    EmailStatus,
    Pipeline,
)
from tests.factories import make_contact, make_deal, make_email_log


@dataclass
class Seeded:
    codeteki_deal: int
    desi_deal: int
    codeteki_pipeline: int
    desi_pipeline: int


def pipeline(session: Session, brand: str, slug: str) -> tuple[Brand, Pipeline]:
    b = session.exec(select(Brand).where(Brand.slug == brand)).one()
    p = session.exec(select(Pipeline).where(Pipeline.brand_id == b.id, Pipeline.slug == slug))
    return b, p.one()


def two_brands(engine: Engine) -> Seeded:
    with Session(engine) as s:
        ct, ct_sales = pipeline(s, "codeteki", "sales")
        df, df_estate = pipeline(s, "desifirms", "real_estate")
        secret = make_contact(s, brand=ct, email="cto@secret-client.com", name="Codeteki Secret")
        shown = make_contact(
            s, brand=df, email="agent@realty.com.au", name="<script>alert(1)</script>"
        )
        ct_deal = make_deal(s, contact=secret, pipeline=ct_sales)
        df_deal = make_deal(s, contact=shown, pipeline=df_estate)
        make_email_log(s, deal=ct_deal, status=EmailStatus.failed, subject="Codeteki failed send")
        make_email_log(s, deal=df_deal, status=EmailStatus.unknown, subject="Desi unknown send")
        for brand, deal, subject in ((ct, ct_deal, "Codeteki draft"), (df, df_deal, "Desi draft")):
            s.add(
                EmailDraft(
                    kind=DraftKind.review,
                    brand_id=brand.id or 0,
                    pipeline_id=deal.pipeline_id,
                    deal_id=deal.id,
                    contact_id=deal.contact_id,
                    stage_id=deal.stage_id,
                    subject=subject,
                    body="<p>Hi</p>",
                    status=DraftStatus.pending_review,
                )
            )
        s.add(
            EmailEvent(
                brand_id=ct.id,
                event_type=EmailEventType.open,
                source="zeptomail",
                dedupe_key="ct-unmatched",
                email="stranger@codeteki-only.com",
            )
        )
        s.commit()
        return Seeded(ct_deal.id or 0, df_deal.id or 0, ct_sales.id or 0, df_estate.id or 0)
