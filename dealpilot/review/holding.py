"""Human review mode: the email a deal is about to send, held in the review queue (an
EmailDraft awaiting a person).

`hold` renders the email with the same composing code as the send activity
(stage template, or an AI body in the brand layout) and stores it as a `pending_review` draft,
once per (deal, step). What is stored is what the approved send renders again for the contact
(dealpilot/rendering/stage_email.py `render_draft_email`): an AI email's message text, or a template
email's whole HTML document, both as literal templates; the send adds tracking links, the open
pixel and the attributed unsubscribe link.

`settle` writes a person's decision (or a discard, when the deal moved on) onto the
draft row; the workflow applies it.

Holding reads, calls the AI, then writes: the reads and the write are separate units of work run
through the caller's `Transact`, so no transaction stays open while the AI composes.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from dealpilot.ai.calls import AIDecisions
from dealpilot.deals.content import render_deal_email, tier_template_for
from dealpilot.deals.store import load_deal_rows
from dealpilot.rendering.renderer import EmailContext, EmailRenderer
from dealpilot.rendering.stage_email import (
    StageEmail,
    as_literal_template,
    load_email_context,
)
from dealpilot.tracking.tracker import Tracker
from models import DraftKind, DraftStatus, EmailDraft, PipelineStage, StageTierTemplate
from models.uow import Transact
from workflows.contracts import ReviewHold, ReviewSettlement, SendRequest

REVIEW_EMAIL_TYPE = "review"
_OPEN = (DraftStatus.pending_review, DraftStatus.approved)


def _pending(session: Session, deal_id: int, step: int) -> EmailDraft | None:
    return session.exec(
        select(EmailDraft)
        .where(
            EmailDraft.deal_id == deal_id,
            EmailDraft.step == step,
            EmailDraft.kind == DraftKind.review,
            col(EmailDraft.status).in_(_OPEN),
        )
        .order_by(col(EmailDraft.id).desc())
    ).first()


class ReviewHolding:
    def __init__(
        self, transact: Transact, *, renderer: EmailRenderer, ai: AIDecisions, tracker: Tracker
    ) -> None:
        self._transact = transact
        self._renderer = renderer
        self._ai = ai
        self._tracker = tracker

    async def hold(self, req: SendRequest, *, now: datetime) -> ReviewHold:
        """Idempotent: a retry (or a replayed workflow asking again) finds the open draft of
        (deal, step) instead of composing another."""
        found = await self._transact(lambda session: self._find(session, req))
        if found is not None:
            return found
        stage, ctx, tiered = await self._transact(lambda session: self._facts(session, req))
        rendered = await render_deal_email(
            self._renderer,
            stage,
            ctx,
            req,
            tiered,
            lambda data: self._ai.compose_email(data, req.deal_id),
        )
        return await self._transact(lambda session: self._store(session, req, rendered, now))

    @staticmethod
    def _find(session: Session, req: SendRequest) -> ReviewHold | None:
        draft = _pending(session, req.deal_id, req.step)
        if draft is None:
            return None
        return ReviewHold(draft_id=draft.id or 0, subject=draft.subject)

    def _facts(
        self, session: Session, req: SendRequest
    ) -> tuple[PipelineStage, EmailContext, StageTierTemplate | None]:
        stage = session.get(PipelineStage, req.stage_id)
        assert stage is not None
        # No email log exists yet: the unsubscribe link names none (it works all the
        # same) and the open pixel is added when the approved draft is sent.
        ctx, _contact, _brand = load_email_context(
            session,
            req.deal_id,
            unsubscribe_url=lambda b, c: self._tracker.unsubscribe_url(b.id or 0, c.email, None),
        )
        return stage, ctx, tier_template_for(session, req, ctx)

    @staticmethod
    def _store(
        session: Session, req: SendRequest, rendered: StageEmail, now: datetime
    ) -> ReviewHold:
        draft = _pending(session, req.deal_id, req.step)
        if draft is None:
            deal, contact, pipeline, brand = load_deal_rows(session, req.deal_id)
            body = rendered.source if rendered.ai_generated else rendered.html
            draft = EmailDraft(
                brand_id=brand.id or 0,
                pipeline_id=pipeline.id,
                deal_id=deal.id,
                contact_id=contact.id,
                stage_id=req.stage_id,
                step=req.step,
                variant=rendered.variant,
                kind=DraftKind.review,
                email_type=REVIEW_EMAIL_TYPE,
                recipients=[contact.email],
                subject=as_literal_template(rendered.subject)[:300],
                body=as_literal_template(body),
                status=DraftStatus.pending_review,
                ai_generated=rendered.ai_generated,
                created_at=now,
                updated_at=now,
            )
            session.add(draft)
            session.flush()
        return ReviewHold(draft_id=draft.id or 0, subject=draft.subject)

    @staticmethod
    def settle(session: Session, req: ReviewSettlement, *, now: datetime) -> None:
        """Idempotent: a decided (or sent) draft is left as it is."""
        draft = session.get(EmailDraft, req.draft_id)
        if draft is None or draft.deal_id != req.deal_id or draft.status not in _OPEN:
            return
        if draft.status == DraftStatus.approved and req.action != "discard":
            return
        if req.action == "edit":
            draft.subject = (req.subject or draft.subject)[:300]
            draft.body = req.body if req.body is not None else draft.body
        if req.action in ("approve", "edit"):
            draft.status = DraftStatus.approved
            draft.review_note = req.note
        elif req.action == "reject":
            draft.status = DraftStatus.rejected
            draft.review_note = req.note
        else:  # discard
            draft.status = DraftStatus.rejected
            draft.review_note = f"superseded: {req.note}"
        if req.action != "discard":
            draft.reviewed_at = now
            draft.outcome = {**draft.outcome, "reviewer": req.reviewer, "action": req.action}
        draft.updated_at = now
        session.add(draft)
