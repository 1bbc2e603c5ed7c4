"""The review queue: autopilot emails held as drafts (human review mode) and a person's
decision on them, delivered to the deal's workflow as its `review_draft` update.

The workflow is the authority: it writes the decision onto the draft (its activity), sends an
approved email through the normal send path, and refuses a decision on a draft that is not
the one it waits for. The API checks the row first for clear errors, then asks the workflow;
its unit of work commits the read before that call (`commit_now`), so no transaction is held
open meanwhile (the workflow's activity writes the same row)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from dealpilot.core.errors import Conflict, ErrorDetail, NotFound, Unprocessable
from dealpilot.rendering.renderer import EmailRenderer, TemplateRenderError
from dealpilot.rendering.stage_email import load_email_context, render_draft_email
from dealpilot.temporal.deals import DealWorkflows
from models import Contact, Deal, DraftKind, DraftStatus, EmailDraft, PipelineStage, utcnow
from models.pagination import Page, PageParams, paginate
from workflows.contracts import DealStateView, ReviewDecision

PREVIEW_UNSUBSCRIBE_URL = "https://unsubscribe.invalid/preview"


class ReviewItem(BaseModel):
    id: int
    deal_id: int
    brand_id: int
    pipeline_id: int | None
    contact_id: int | None
    contact_email: str
    contact_name: str
    stage_id: int | None
    stage_name: str
    step: int | None
    variant: str
    subject: str
    body: str  # message text for the brand layout, or a whole HTML document
    ai_generated: bool
    status: DraftStatus
    review_note: str
    created_at: datetime
    reviewed_at: datetime | None
    sent_at: datetime | None
    age_seconds: int  # how long it has waited (or waited) for a person


class ReviewNote(BaseModel):
    note: str = Field(default="", max_length=2000)
    reviewer: str = Field(default="api", min_length=1, max_length=100)


class ReviewEdit(ReviewNote):
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=100_000)


class ReviewResult(BaseModel):
    """The draft after the decision, and the deal's state as its workflow returned it."""

    draft: ReviewItem
    deal: DealStateView


def _query(kind: DraftKind = DraftKind.review) -> Any:  # paginate takes SQLAlchemy's Select
    return (
        select(EmailDraft, Contact.email, Contact.name, PipelineStage.name)
        .join(Contact, col(Contact.id) == col(EmailDraft.contact_id), isouter=True)
        .join(PipelineStage, col(PipelineStage.id) == col(EmailDraft.stage_id), isouter=True)
        .where(
            col(EmailDraft.kind) == kind,
        )
    )


def _item(row: Any) -> ReviewItem:
    draft, email, name, stage_name = row
    end = draft.sent_at or draft.reviewed_at or utcnow()
    return ReviewItem(
        id=draft.id,
        deal_id=draft.deal_id,
        brand_id=draft.brand_id,
        pipeline_id=draft.pipeline_id,
        contact_id=draft.contact_id,
        contact_email=email or (draft.recipients[0] if draft.recipients else ""),
        contact_name=name or "",
        stage_id=draft.stage_id,
        stage_name=stage_name or "",
        step=draft.step,
        variant=draft.variant,
        subject=draft.subject,
        body=draft.body,
        ai_generated=draft.ai_generated,
        status=draft.status,
        review_note=draft.review_note,
        created_at=draft.created_at,
        reviewed_at=draft.reviewed_at,
        sent_at=draft.sent_at,
        age_seconds=max(int((end - draft.created_at).total_seconds()), 0),
    )


def list_pending(
    session: Session,
    page: PageParams,
    *,
    brand_id: int | None,
    pipeline_id: int | None,
    deal_id: int | None,
    brand_ids: frozenset[int] | None = None,
    newest_first: bool = False,
    kind: DraftKind = DraftKind.review,
) -> Page[ReviewItem]:
    """Drafts waiting for a person, oldest first (the longest wait comes first), or newest
    first; `brand_ids` narrows to those brands (the console's operators). `kind` reply:
    answers to replies, among them replies read with low confidence, whose deal waits paused
    with the reading in `review_note`."""
    stmt = _query(kind).where(col(EmailDraft.status) == DraftStatus.pending_review)
    if brand_id is not None:
        stmt = stmt.where(col(EmailDraft.brand_id) == brand_id)
    if brand_ids is not None:
        stmt = stmt.where(col(EmailDraft.brand_id).in_(sorted(brand_ids)))
    if pipeline_id is not None:
        stmt = stmt.where(col(EmailDraft.pipeline_id) == pipeline_id)
    if deal_id is not None:
        stmt = stmt.where(col(EmailDraft.deal_id) == deal_id)
    if newest_first:
        stmt = stmt.order_by(col(EmailDraft.created_at).desc(), col(EmailDraft.id).desc())
    else:
        stmt = stmt.order_by(col(EmailDraft.created_at), col(EmailDraft.id))
    return paginate(session, stmt, page, _item)


def get_item(session: Session, draft_id: int) -> ReviewItem:
    row = session.execute(_query().where(col(EmailDraft.id) == draft_id)).first()
    if row is None:
        raise NotFound(f"Review draft {draft_id} does not exist")
    return _item(row)


def _pending_draft(session: Session, draft_id: int) -> tuple[EmailDraft, Deal]:
    item = get_item(session, draft_id)
    if item.status != DraftStatus.pending_review:
        raise Conflict(
            f"Review draft {draft_id} is no longer waiting for review (it is {item.status})",
            code="draft_not_pending",
        )
    draft = session.get(EmailDraft, draft_id)
    deal = session.get(Deal, item.deal_id)
    assert draft is not None
    if deal is None:
        raise NotFound(f"Deal {item.deal_id} of review draft {draft_id} does not exist")
    return draft, deal


async def load_pending(session: Session, draft_id: int) -> tuple[EmailDraft, Deal]:
    """The draft (404 unknown, 409 `draft_not_pending` once decided) and its deal. The caller
    commits before delivering the decision to the workflow."""
    return await anyio.to_thread.run_sync(_pending_draft, session, draft_id)


def check_edit(
    session: Session, renderer: EmailRenderer, draft: EmailDraft, edit: ReviewEdit
) -> None:
    """Renders the edited email for the draft's contact, as the send will: a template
    mistake is a 422 now rather than a failed send later."""
    assert draft.deal_id is not None
    ctx, _contact, _brand = load_email_context(
        session, draft.deal_id, unsubscribe_url=lambda _b, _c: PREVIEW_UNSUBSCRIBE_URL
    )
    try:
        renderer.render_subject(edit.subject, ctx)
    except TemplateRenderError as exc:
        raise _template_error("subject", exc) from exc
    try:
        render_draft_email(renderer, edit.subject, edit.body, ctx)
    except TemplateRenderError as exc:
        raise _template_error("body", exc) from exc


def _template_error(field: str, exc: TemplateRenderError) -> Unprocessable:
    return Unprocessable(
        f"The {field} does not render: {exc}",
        code="template_error",
        details=[ErrorDetail(field=field, problem=str(exc))],
    )


async def decide(workflows: DealWorkflows, deal: Deal, decision: ReviewDecision) -> DealStateView:
    """Delivers the decision to the deal's workflow (503 when Temporal is unreachable, 409
    `draft_not_pending` when the workflow no longer waits for this draft)."""
    return await workflows.review_draft(deal, decision)


def reread(session: Session, draft_id: int) -> ReviewItem:
    session.expire_all()  # the workflow's activity changed the row on its own connection
    return get_item(session, draft_id)
