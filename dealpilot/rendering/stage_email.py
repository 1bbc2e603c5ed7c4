"""A stage's email, rendered without side effects: no ledger row, no provider call.

The send activity (dealpilot/deals/sending.py) adds tracking links, headers and the ledger around
it; the API's preview and drafts use it as it is.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from dealpilot.ai import ComposedEmail, ComposeInput
from dealpilot.deals.store import load_deal_rows
from dealpilot.rendering.context import WritingBrief
from dealpilot.rendering.renderer import (
    BrandInfo,
    ContactInfo,
    EmailContext,
    EmailRenderer,
    OpportunityInfo,
    html_to_text,
)
from models import (
    BacklinkOpportunity,
    Brand,
    Contact,
    EmailLog,
    EmailStatus,
    PipelineStage,
    StageTierTemplate,
)

AI_TEMPLATE_KEY = "ai"
DRAFT_TEMPLATE_KEY = "draft"
EDITED_TEMPLATE_KEY = "edited"  # a stage without a template file whose template was edited
# A stored (already rendered) document may be wrapped in {% raw %} by as_literal_template.
_DOCUMENT_RE = re.compile(r"^\s*(\{%-?\s*raw\s*-?%\}\s*)?(<!doctype\b|<html\b)", re.IGNORECASE)
_BODY_END_RE = re.compile(r"</body\s*>", re.IGNORECASE)
_JINJA_MARKERS = ("{{", "{%", "{#")

Composer = Callable[[ComposeInput], Awaitable[ComposedEmail]]


@dataclass(frozen=True)
class StageEmail:
    """A stage's email as rendered, before tracking links, headers and the ledger."""

    subject: str
    html: str
    text: str
    template_key: str  # the stage's template, or "ai" for an AI-written body
    # The A/B subject used: "A" or "B" only where the stage had two subjects, else "" (an
    # A/B result must compare emails that could differ, not every email of a B deal).
    variant: str
    ai_generated: bool
    # An AI-written email's message text (before the layout): what a review draft stores.
    source: str = ""


def load_email_context(
    session: Session,
    deal_id: int,
    *,
    unsubscribe_url: Callable[[Brand, Contact], str],
    tracking_pixel: str = "",
) -> tuple[EmailContext, Contact, Brand]:
    """What a deal's templates may use, and the brief an AI writer gets, read (never written)
    from the database."""
    deal, contact, pipeline, brand = load_deal_rows(session, deal_id)
    opportunity = session.exec(
        select(BacklinkOpportunity).where(BacklinkOpportunity.deal_id == deal_id)
    ).first()
    subjects = session.exec(
        select(EmailLog.subject)
        .where(EmailLog.deal_id == deal_id, EmailLog.status == EmailStatus.sent)
        .order_by(col(EmailLog.sent_at), col(EmailLog.id))
    ).all()
    ctx = EmailContext(
        brand=BrandInfo.from_row(brand),
        contact=ContactInfo.from_row(contact),
        unsubscribe_url=unsubscribe_url(brand, contact),
        tracking_pixel=tracking_pixel,
        opportunity=OpportunityInfo.from_row(opportunity) if opportunity else None,
        brief=WritingBrief(
            brand_voice=brand.voice,
            brand_description=brand.description,
            pipeline_type=str(pipeline.pipeline_type),
            pipeline_description=pipeline.description,
            engagement_tier=str(deal.engagement_tier),
            previous_subjects=list(dict.fromkeys(s for s in subjects if s)),
        ),
    )
    return ctx, contact, brand


def stage_goal(stage_name: str, brief: WritingBrief) -> str:
    """What a stage's email is for, told to the writer with the pipeline's own goal."""
    name = stage_name.lower()
    if any(word in name for word in ("final", "last", "break")):
        goal = "a last, low-pressure follow-up that offers to close the loop"
    elif "follow" in name or brief.previous_subjects:
        goal = "a follow-up that gives one new, concrete reason to reply"
    else:
        goal = "a first introduction that asks one easy question"
    if brief.engagement_tier == "lurker":  # opened before, quiet since: change the approach
        goal += "; they read earlier emails but went quiet, so take a different angle"
    return f"{goal}. Pipeline: {brief.pipeline_description}" if brief.pipeline_description else goal


async def render_stage_email(
    renderer: EmailRenderer,
    stage: PipelineStage,
    ctx: EmailContext,
    *,
    variant: str,
    approach_note: str | None,
    compose: Composer,
    tier_template: StageTierTemplate | None = None,
) -> StageEmail:
    """Renders `stage`'s email: its template (subject A or B), or an AI-written body in the
    brand layout when the stage has no template. Touches no database and no provider; the only
    call out is `compose`, which the caller chooses (the send activity logs the AI decision, a
    preview calls the engine directly). `tier_template`: the stage's email for the deal's
    engagement tier, used instead of the stage's own (with its own subject, if it has one)."""
    subject = (stage.subject_variant_b if variant == "B" else None) or stage.subject
    if tier_template is not None:
        own_subject = bool(tier_template.subject)
        subject = tier_template.subject or subject
        rendered = renderer.render_edited_stage(
            tier_template.template_body, subject or stage.name, ctx
        )
        used = variant if not own_subject and stage.subject and stage.subject_variant_b else ""
        key = f"{stage.template_key or EDITED_TEMPLATE_KEY}@{tier_template.tier}"
        return StageEmail(rendered.subject, rendered.html, rendered.text, key, used, False)
    if stage.template_body:  # edited in the console: replaces the file
        rendered = renderer.render_edited_stage(stage.template_body, subject or stage.name, ctx)
        used = variant if stage.subject and stage.subject_variant_b else ""
        key = stage.template_key or EDITED_TEMPLATE_KEY
        return StageEmail(rendered.subject, rendered.html, rendered.text, key, used, False)
    if stage.template_key and renderer.has_template(stage.template_key):
        rendered = renderer.render_stage(stage.template_key, subject or stage.name, ctx)
        used = variant if stage.subject and stage.subject_variant_b else ""
        return StageEmail(
            rendered.subject, rendered.html, rendered.text, stage.template_key, used, False
        )
    brief = ctx.brief
    data = ComposeInput(
        brand_name=ctx.brand.name,
        brand_voice=brief.brand_voice or None,
        brand_description=brief.brand_description or None,
        sender_name=ctx.brand.from_name,
        pipeline_type=brief.pipeline_type,
        stage_name=stage.name,
        stage_goal=stage_goal(stage.name, brief),
        engagement_tier=brief.engagement_tier,
        previous_subjects=brief.previous_subjects,
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
    # The AI wrote the subject: no A/B subject was used.
    return StageEmail(
        rendered.subject, rendered.html, rendered.text, AI_TEMPLATE_KEY, "", True, body
    )


def is_html_document(body: str) -> bool:
    """A draft body that is a whole HTML document (a stage email held for review) rather than
    message text for the brand layout."""
    return bool(_DOCUMENT_RE.match(body))


def as_literal_template(text: str) -> str:
    """`text` as a template that renders to itself: already-rendered content (a stage email,
    an AI body) stored in a draft must not be evaluated again."""
    if not any(marker in text for marker in _JINJA_MARKERS):
        return text
    return "{% raw %}" + text.replace("{% endraw %}", "{ % endraw % }") + "{% endraw %}"


def render_draft_email(
    renderer: EmailRenderer,
    subject: str,
    body: str,
    ctx: EmailContext,
    *,
    variant: str = "",
    ai_generated: bool = False,
) -> StageEmail:
    """Renders an EmailDraft for one recipient (composer emails, reviewed autopilot emails).

    `subject` and `body` are sandboxed template strings (`{{ contact.first_name }}`,
    `{{ brand.name }}`, ... as in stage templates). A body that is a whole HTML document is
    the complete email (the tracking pixel is added before `</body>`); any other body is the
    message text, escaped into paragraphs in the brand layout, which adds the greeting,
    sign-off and unsubscribe footer (the AI body path). Raises TemplateRenderError (or a
    subclass) on a template mistake."""
    rendered_subject = renderer.render_subject(subject, ctx)
    if is_html_document(body):
        html = renderer.render_string(body, ctx, html=True, subject=rendered_subject)
        if ctx.tracking_pixel and ctx.tracking_pixel not in html:
            html, found = _BODY_END_RE.subn(lambda m: ctx.tracking_pixel + m.group(0), html, 1)
            if not found:
                html += ctx.tracking_pixel
        return StageEmail(
            rendered_subject, html, html_to_text(html), DRAFT_TEMPLATE_KEY, variant, ai_generated
        )
    text = renderer.render_string(body, ctx, html=False, subject=rendered_subject)
    rendered = renderer.render_ai_body(ctx.brand.slug, rendered_subject, text, ctx)
    return StageEmail(
        rendered.subject, rendered.html, rendered.text, DRAFT_TEMPLATE_KEY, variant, ai_generated
    )
