"""What a deal's next automatic email says, for the send and the review hold alike: the step
of the deal's email sequence when it has one, else the stage's email for the deal's tier
(`tier_templates`), else the stage's own (template, or an AI-written body)."""

from __future__ import annotations

from sqlmodel import Session

from dealpilot.deals import tier_templates
from dealpilot.rendering.renderer import EmailContext, EmailRenderer, RenderedEmail
from dealpilot.rendering.stage_email import (
    Composer,
    StageEmail,
    render_draft_email,
    render_stage_email,
)
from models import PipelineStage, StageTierTemplate
from workflows.contracts import SendRequest, SequenceStepPlan

SEQUENCE_TEMPLATE_KEY = "sequence"


def tier_template_for(
    session: Session, req: SendRequest, ctx: EmailContext
) -> StageTierTemplate | None:
    """The stage's email for the deal's tier (the workflow's, else the row's), detached."""
    if req.sequence_step is not None:
        return None
    row = tier_templates.find(session, req.stage_id, req.tier or ctx.brief.engagement_tier)
    if row is not None:
        session.expunge(row)
    return row


async def render_deal_email(
    renderer: EmailRenderer,
    stage: PipelineStage,
    ctx: EmailContext,
    req: SendRequest,
    tier_template: StageTierTemplate | None,
    compose: Composer,
) -> StageEmail:
    if req.sequence_step is not None:
        return step_email(renderer, req.sequence_step, ctx)
    return await render_stage_email(
        renderer,
        stage,
        ctx,
        variant=req.variant,
        approach_note=req.approach_note,
        compose=compose,
        tier_template=tier_template,
    )


def step_email(renderer: EmailRenderer, step: SequenceStepPlan, ctx: EmailContext) -> StageEmail:
    """A sequence step's email as the send renders it (template key `sequence:<order>`)."""
    email = render_step(renderer, step.subject, step.body, ctx)
    key = f"{SEQUENCE_TEMPLATE_KEY}:{step.order}"
    return StageEmail(email.subject, email.html, email.text, key, "", False)


def render_step(
    renderer: EmailRenderer, subject: str, body: str, ctx: EmailContext
) -> RenderedEmail | StageEmail:
    """A sequence step's email. Its body is one of: a template file's key under
    templates/emails/ (what the seeded cadence sequences hold: "codeteki/sales/invited"),
    rendered like a stage's file; a template extending a brand layout, rendered like a stage's
    edited template; else a composer draft's body (a whole HTML document, or message text put
    into the brand layout). Raises TemplateRenderError on a template mistake."""
    key = body.strip()
    if renderer.has_template(key):
        return renderer.render_stage(key, subject, ctx)
    if "{% extends" in body or "{%- extends" in body:
        return renderer.render_edited_stage(body, subject, ctx)
    return render_draft_email(renderer, subject, body, ctx)
