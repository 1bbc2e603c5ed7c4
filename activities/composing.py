"""A stage's email, rendered without side effects: no ledger row, no provider call.

The send activity (activities/sending.py) adds tracking links, headers and the ledger around
it; the API's preview and drafts use it as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlmodel import Session, select

from activities.ai import ComposedEmail, ComposeInput
from activities.deals import load_deal_rows
from activities.rendering import (
    BrandInfo,
    ContactInfo,
    EmailContext,
    EmailRenderer,
    OpportunityInfo,
)
from models import BacklinkOpportunity, Brand, Contact, PipelineStage

AI_TEMPLATE_KEY = "ai"

Composer = Callable[[ComposeInput], Awaitable[ComposedEmail]]


@dataclass(frozen=True)
class StageEmail:
    """A stage's email as rendered, before tracking links, headers and the ledger."""

    subject: str
    html: str
    text: str
    template_key: str  # the stage's template, or "ai" for an AI-written body
    variant: str
    ai_generated: bool


def load_email_context(
    session: Session,
    deal_id: int,
    *,
    unsubscribe_url: Callable[[Brand, Contact], str],
    tracking_pixel: str = "",
) -> tuple[EmailContext, Contact, Brand]:
    """What a deal's templates may use, read (never written) from the database."""
    _deal, contact, _pipeline, brand = load_deal_rows(session, deal_id)
    opportunity = session.exec(
        select(BacklinkOpportunity).where(BacklinkOpportunity.deal_id == deal_id)
    ).first()
    ctx = EmailContext(
        brand=BrandInfo.from_row(brand),
        contact=ContactInfo.from_row(contact),
        unsubscribe_url=unsubscribe_url(brand, contact),
        tracking_pixel=tracking_pixel,
        opportunity=OpportunityInfo.from_row(opportunity) if opportunity else None,
    )
    return ctx, contact, brand


async def render_stage_email(
    renderer: EmailRenderer,
    stage: PipelineStage,
    ctx: EmailContext,
    *,
    variant: str,
    approach_note: str | None,
    compose: Composer,
) -> StageEmail:
    """Renders `stage`'s email: its template (subject A or B), or an AI-written body in the
    brand layout when the stage has no template. Touches no database and no provider; the only
    call out is `compose`, which the caller chooses (the send activity logs the AI decision, a
    preview calls the engine directly)."""
    subject = (stage.subject_variant_b if variant == "B" else None) or stage.subject
    if stage.template_key and renderer.has_template(stage.template_key):
        rendered = renderer.render_stage(stage.template_key, subject or stage.name, ctx)
        return StageEmail(
            rendered.subject, rendered.html, rendered.text, stage.template_key, variant, False
        )
    data = ComposeInput(
        brand_name=ctx.brand.name,
        sender_name=ctx.brand.from_name,
        stage_name=stage.name,
        purpose=stage.name,
        contact_name=ctx.contact.name or None,
        contact_company=ctx.contact.company or None,
        contact_email=ctx.contact.email,
        contact_website=ctx.contact.website or None,
        notes=approach_note,
    )
    composed = await compose(data)
    body = "\n\n".join(composed.body_paragraphs)
    rendered = renderer.render_ai_body(ctx.brand.slug, composed.subject, body, ctx)
    return StageEmail(
        rendered.subject, rendered.html, rendered.text, AI_TEMPLATE_KEY, variant, True
    )
