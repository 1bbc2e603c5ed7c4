"""Tier-aware stage emails: a stage's email for deals of one engagement tier (shorter for cold
deals, more value for lurkers), chosen at send time by the deal's tier; a tier without one gets
the stage's own email. Saved after the checks a stage template gets (the same sandbox,
StrictUndefined, the brand's layouts: `dealpilot.deals.stage_templates.preview`)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from dealpilot.core.enums import EngagementTier
from dealpilot.core.errors import NotFound
from dealpilot.deals import stage_templates
from dealpilot.deals.lookup import get_or_404
from dealpilot.rendering.renderer import EmailRenderer
from models import PipelineStage, StageTierTemplate, utcnow
from models.pipeline import StageTierTemplateWrite

# Tiers a variant may be written for (a ghost is closed, never emailed).
TIERS = tuple(t for t in EngagementTier if t != EngagementTier.ghost)


def list_for_stage(session: Session, stage_id: int) -> list[StageTierTemplate]:
    get_or_404(session, PipelineStage, stage_id, what="Stage")
    return list(
        session.exec(
            select(StageTierTemplate)
            .where(StageTierTemplate.stage_id == stage_id)
            .order_by(col(StageTierTemplate.tier))
        ).all()
    )


def find(session: Session, stage_id: int, tier: str) -> StageTierTemplate | None:
    """The stage's email for `tier`, or None: the stage's own email."""
    if not tier:
        return None
    return session.exec(
        select(StageTierTemplate).where(
            StageTierTemplate.stage_id == stage_id, StageTierTemplate.tier == tier
        )
    ).first()


def save(
    session: Session,
    renderer: EmailRenderer,
    stage_id: int,
    tier: EngagementTier,
    data: StageTierTemplateWrite,
    *,
    base_url: str = "",
) -> StageTierTemplate:
    """Creates or replaces the stage's email for `tier` once it renders for the brand's sample
    contact with every subject it may be sent with (422 `template_error` naming the field)."""
    stage = get_or_404(session, PipelineStage, stage_id, what="Stage")
    body = data.template_body.replace("\r\n", "\n")
    subject = (data.subject or "").strip() or None
    ctx = stage_templates.recipient_context(
        session, stage_templates.stage_brand(session, stage), base_url=base_url
    )
    subjects = {subject} if subject else {stage.subject or "", stage.subject_variant_b or ""}
    for each in subjects:
        stage_templates.preview(renderer, stage, ctx, body, each)
    row = find(session, stage_id, tier) or StageTierTemplate(
        stage_id=stage_id, tier=tier, template_body=body
    )
    row.subject, row.template_body, row.updated_at = subject, body, utcnow()
    session.add(row)
    session.flush()
    return row


def delete(session: Session, stage_id: int, tier: str) -> None:
    row = find(session, stage_id, tier)
    if row is None:
        raise NotFound(f"Stage {stage_id} has no {tier} template", code="not_found")
    session.delete(row)
    session.flush()
