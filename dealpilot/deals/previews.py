"""The next email of a deal, rendered exactly as the send activity would render it (same
function, `dealpilot.deals.sending.render_stage_email`) but not sent: no EmailLog row, no provider
call, no AI decision log. Tracking is left out (no pixel, no rewritten links) and the
unsubscribe link is a placeholder that unsubscribes nobody."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import object_session
from sqlmodel import Session, col

from dealpilot.ai import AIEngine, AIError, ComposedEmail, ComposeInput
from dealpilot.ai.prompt_rows import active_texts
from dealpilot.core.errors import Conflict, DealpilotError, NotFound
from dealpilot.deals import tier_templates
from dealpilot.deals.content import step_email
from dealpilot.deals.service import stages_in_order
from dealpilot.deals.store import stage_info
from dealpilot.rendering.renderer import EmailContext, EmailRenderer, TemplateRenderError
from dealpilot.rendering.stage_email import StageEmail, load_email_context, render_stage_email
from dealpilot.temporal.deals import DealWorkflows, require_workflows
from models import (
    AutoAction,
    Deal,
    DealStatus,
    EmailLog,
    EmailStatus,
    PipelineStage,
    StageTierTemplate,
)
from workflows.rules import ab_variant, next_sequence_stage

PREVIEW_UNSUBSCRIBE_PATH = "/api/crm/unsubscribe/preview"
_SENT = (EmailStatus.sending, EmailStatus.sent, EmailStatus.unknown)


@dataclass
class PreviewFacts:
    deal_id: int
    stage: PipelineStage
    ctx: EmailContext
    brand_id: int
    pipeline_id: int
    to_email: str
    approach_note: str | None
    prompts: dict[str, str] = field(default_factory=dict)  # the brand's active prompt rows
    tier_template: StageTierTemplate | None = None  # the stage's email for the deal's tier
    # A deal enrolled with an email sequence (detached): its next email is the pending step of
    # the snapshot its workflow holds, asked of the workflow (`render_preview`).
    sequence_deal: Deal | None = None


class NoNextEmail(Conflict):
    code = "no_next_email"


def next_email_stage(session: Session, deal: Deal) -> PipelineStage | None:
    """The stage whose email the autopilot sends next (the workflow's rule: a send-on-enter
    stage not yet emailed, else the sequence stage right after the current one)."""
    stages = stages_in_order(session, deal.pipeline_id)
    current = next((s for s in stages if s.id == deal.stage_id), None)
    if current is not None and current.auto_action == AutoAction.send_on_enter:
        sent = session.execute(
            select(col(EmailLog.id)).where(
                col(EmailLog.deal_id) == deal.id,
                col(EmailLog.stage_id) == current.id,
                col(EmailLog.status).in_(_SENT),
            )
        ).first()
        if sent is None:
            return current
    nxt = next_sequence_stage([stage_info(s) for s in stages], deal.stage_id)
    if nxt is None:
        return None
    found: PipelineStage = next(s for s in stages if s.id == nxt.id)
    return found


def preview_facts(session: Session, deal_id: int, *, base_url: str) -> PreviewFacts:
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"Deal {deal_id} does not exist")
    if deal.status in (DealStatus.won, DealStatus.lost):
        raise Conflict(f"Deal {deal_id} is {deal.status}: it sends nothing", code="deal_closed")
    stage = next_email_stage(session, deal)
    if stage is None:
        raise NoNextEmail(f"Deal {deal_id} has no automatic email to send next")
    placeholder = base_url.rstrip("/") + PREVIEW_UNSUBSCRIBE_PATH
    ctx, contact, brand = load_email_context(
        session, deal_id, unsubscribe_url=lambda _b, _c: placeholder
    )
    assert brand.id is not None
    if deal.sequence_id is not None:
        session.expunge(deal)
    return PreviewFacts(
        deal_id=deal_id,
        stage=stage,
        ctx=ctx,
        brand_id=brand.id,
        pipeline_id=deal.pipeline_id,
        to_email=contact.email,
        approach_note=deal.ai_notes or None,
        prompts=active_texts(session, brand.id),
        tier_template=_detached(tier_templates.find(session, stage.id or 0, deal.engagement_tier)),
        sequence_deal=deal if deal.sequence_id is not None else None,
    )


def _detached(row: StageTierTemplate | None) -> StageTierTemplate | None:
    owner = object_session(row) if row is not None else None
    if owner is not None:
        owner.expunge(row)
    return row


async def render_preview(
    renderer: EmailRenderer,
    ai: AIEngine,
    facts: PreviewFacts,
    workflows: DealWorkflows | None,
) -> StageEmail:
    """The email the deal's next send renders. For a deal following an email sequence that is
    the pending step of the snapshot its workflow started with (a state query: 503
    `temporal_unavailable` without Temporal), as `send_now` sends it; else the stage's email."""

    async def compose(data: ComposeInput) -> ComposedEmail:
        # Not logged: nothing was decided or sent.
        return (await ai.with_prompts(facts.prompts).compose_email(data)).value

    step = None
    if facts.sequence_deal is not None:
        state = await require_workflows(workflows).state(facts.sequence_deal)
        step = state.sequence_step
        if step is None:
            raise NoNextEmail(f"Deal {facts.deal_id} has sent every step of its email sequence")
    try:
        if step is not None:
            return step_email(renderer, step, facts.ctx)
        return await render_stage_email(
            renderer,
            facts.stage,
            facts.ctx,
            variant=ab_variant(facts.deal_id),
            approach_note=facts.approach_note,
            compose=compose,
            tier_template=facts.tier_template,
        )
    except TemplateRenderError as exc:
        raise DealpilotError(str(exc), code="render_failed", status_code=422) from exc
    except AIError as exc:
        raise DealpilotError(
            "The AI engine could not write this email; try again",
            code="ai_unavailable",
            status_code=502,
        ) from exc
