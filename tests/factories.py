"""Test data builders. Keyword-only arguments; sensible defaults; each one commits, so an
API under test (on its own connection) sees the rows."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from models import (
    AIDecisionLog,
    AIPromptTemplate,
    BacklinkOpportunity,
    Brand,
    Contact,
    ContactType,
    Deal,
    DealStatus,
    EmailLog,
    EmailSequence,
    EmailStatus,
    EngagementTier,
    Pipeline,
    PipelineStage,
    PipelineType,
    PromptType,
    SequenceStep,
    StageKind,
    Suppression,
    SuppressionReason,
    utcnow,
)

_seq = itertools.count(1)

# (name, slug, kind) of a small sales pipeline, in order.
DEFAULT_STAGES: tuple[tuple[str, str, StageKind], ...] = (
    ("Invited", "invited", StageKind.entry),
    ("Follow-up 1", "follow-up-1", StageKind.sequence),
    ("Responded", "responded", StageKind.reply),
    ("Won", "won", StageKind.won),
    ("Lost", "lost", StageKind.lost),
)


def _save(session: Session, row: Any) -> Any:
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def make_brand(
    session: Session,
    *,
    slug: str | None = None,
    name: str | None = None,
    timezone: str = "Australia/Sydney",
    **fields: Any,
) -> Brand:
    slug = slug or f"brand-{next(_seq)}"
    brand = Brand(
        slug=slug,
        name=name or slug.title(),
        domain=f"{slug}.example.com",
        from_email=f"hello@{slug}.example.com",
        from_name=name or slug.title(),
        timezone=timezone,
        **fields,
    )
    return _save(session, brand)  # type: ignore[no-any-return]


def make_contact(
    session: Session,
    *,
    brand: Brand,
    email: str | None = None,
    name: str = "",
    company: str = "",
    contact_type: ContactType = ContactType.lead,
    tags: Sequence[str] = (),
    **fields: Any,
) -> Contact:
    assert brand.id is not None
    contact = Contact(
        brand_id=brand.id,
        email=email or f"person{next(_seq)}@example.com",
        name=name,
        company=company,
        contact_type=contact_type,
        tags=list(tags),
        **fields,
    )
    return _save(session, contact)  # type: ignore[no-any-return]


def make_pipeline(
    session: Session,
    *,
    brand: Brand,
    slug: str | None = None,
    name: str | None = None,
    pipeline_type: PipelineType = PipelineType.sales,
    stages: Sequence[tuple[str, str, StageKind]] = DEFAULT_STAGES,
) -> Pipeline:
    """A pipeline with `stages` (name, slug, kind), ordered as given. Read them back with
    `stages_of`."""
    assert brand.id is not None
    slug = slug or f"pipeline-{next(_seq)}"
    pipeline = _save(
        session,
        Pipeline(
            brand_id=brand.id, slug=slug, name=name or slug.title(), pipeline_type=pipeline_type
        ),
    )
    for order, (stage_name, stage_slug, kind) in enumerate(stages):
        session.add(
            PipelineStage(
                pipeline_id=pipeline.id, name=stage_name, slug=stage_slug, order=order, kind=kind
            )
        )
    session.commit()
    return pipeline  # type: ignore[no-any-return]


def stages_of(session: Session, pipeline: Pipeline) -> dict[str, PipelineStage]:
    """The pipeline's stages by slug, in order."""
    from sqlmodel import col, select

    rows = session.exec(
        select(PipelineStage)
        .where(PipelineStage.pipeline_id == pipeline.id)
        .order_by(col(PipelineStage.order))
    ).all()
    return {s.slug: s for s in rows}


def make_deal(
    session: Session,
    *,
    contact: Contact,
    pipeline: Pipeline,
    stage: PipelineStage | None = None,
    status: DealStatus = DealStatus.active,
    engagement_tier: EngagementTier = EngagementTier.new,
    value: Decimal | None = None,
    created_at: datetime | None = None,
) -> Deal:
    stage = stage or next(iter(stages_of(session, pipeline).values()))
    deal = Deal(
        contact_id=contact.id,
        pipeline_id=pipeline.id,
        stage_id=stage.id,
        status=status,
        engagement_tier=engagement_tier,
        value=value,
    )
    if created_at is not None:
        deal.created_at = created_at
    return _save(session, deal)  # type: ignore[no-any-return]


def make_email_log(
    session: Session,
    *,
    deal: Deal,
    status: EmailStatus = EmailStatus.sent,
    variant: str = "A",
    opened: bool = False,
    clicked: bool = False,
    replied: bool = False,
    bounced: bool = False,
    subject: str = "Hello",
) -> EmailLog:
    contact = session.get(Contact, deal.contact_id)
    assert contact is not None
    n = next(_seq)
    log = EmailLog(
        idempotency_key=f"deal-{deal.id}:step-{n}",
        brand_id=contact.brand_id,
        deal_id=deal.id,
        contact_id=contact.id,
        stage_id=deal.stage_id,
        to_email=contact.email,
        subject=subject,
        variant=variant,
        status=status,
        sent_at=utcnow() if status == EmailStatus.sent else None,
        opened=opened,
        clicked=clicked,
        replied=replied,
        bounced=bounced,
    )
    return _save(session, log)  # type: ignore[no-any-return]


def make_decision(
    session: Session,
    *,
    brand: Brand | None = None,
    deal: Deal | None = None,
    decision_type: str = "analyze_deal",
    action_taken: str = "wait",
    meta: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> AIDecisionLog:
    row = AIDecisionLog(
        brand_id=brand.id if brand else None,
        deal_id=deal.id if deal else None,
        decision_type=decision_type,
        reasoning="because",
        action_taken=action_taken,
        meta=meta or {},
        model="heuristic",
    )
    if created_at is not None:
        row.created_at = created_at
    return _save(session, row)  # type: ignore[no-any-return]


def make_sequence(
    session: Session, *, pipeline: Pipeline, name: str = "Intro", steps: int = 2
) -> EmailSequence:
    sequence = _save(session, EmailSequence(pipeline_id=pipeline.id, name=name))
    # Added in reverse so a correct API must sort them.
    for order in reversed(range(steps)):
        session.add(
            SequenceStep(
                sequence_id=sequence.id,
                order=order,
                delay_days=order * 3,
                subject_template=f"Step {order}",
                body_template="Hi {{ name }}",
            )
        )
    session.commit()
    return sequence  # type: ignore[no-any-return]


def make_backlink(
    session: Session,
    *,
    brand: Brand,
    target_domain: str = "blog.example.org",
    **fields: Any,
) -> BacklinkOpportunity:
    row = BacklinkOpportunity(
        brand_id=brand.id,
        target_url=f"https://{target_domain}/post",
        target_domain=target_domain,
        **fields,
    )
    return _save(session, row)  # type: ignore[no-any-return]


def make_prompt(
    session: Session,
    *,
    name: str | None = None,
    prompt_type: PromptType = PromptType.analyze_deal,
    prompt_text: str = "Analyse {{ deal }}",
) -> AIPromptTemplate:
    row = AIPromptTemplate(
        name=name or f"prompt-{next(_seq)}",
        prompt_type=prompt_type,
        prompt_text=prompt_text,
        variables=["deal"],
    )
    return _save(session, row)  # type: ignore[no-any-return]


def make_suppression(
    session: Session,
    *,
    brand: Brand,
    email: str,
    reason: SuppressionReason = SuppressionReason.unsubscribed,
) -> Suppression:
    return _save(session, Suppression(brand_id=brand.id, email=email, reason=reason))  # type: ignore[no-any-return]
