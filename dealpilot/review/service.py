"""The review queue: every draft of a deal that waits for a person, of three kinds
(`KIND_LABELS`): emails the autopilot held (human review mode), suggested replies, and stored
drafts of a deal's next email (`POST /api/crm/deals/drafts/`). A person's decision goes to the
deal's workflow: a held email through its `review_draft` update, a suggested reply through
`send_reply` (an answer in the contact's thread), a stored draft through `send_now` with the
draft. Rejecting a suggested reply or a stored draft discards it; the deal is not waiting for
it.

The workflow is the authority: it writes the decision onto the draft (its activity), sends an
approved email through the normal send path, and refuses a decision on a draft that is not
the one it waits for. The API checks the row first for clear errors, then asks the workflow;
its unit of work commits the read before that call (`commit_now`), so no transaction is held
open meanwhile (the workflow's activity writes the same row)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import and_, case, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from dealpilot.core.errors import Conflict, ErrorDetail, NotFound, Unprocessable
from dealpilot.deals.previews import next_email_stage
from dealpilot.rendering.renderer import EmailRenderer, TemplateRenderError
from dealpilot.rendering.stage_email import load_email_context, render_draft_email
from dealpilot.temporal.deals import DealWorkflows
from models import Contact, Deal, DraftKind, DraftStatus, EmailDraft, PipelineStage, utcnow
from models.pagination import Page, PageParams, paginate
from models.uow import in_thread
from workflows.contracts import (
    DealStateView,
    ReviewDecision,
    SendNowRequest,
    SendNowResult,
    SendReplyRequest,
)

PREVIEW_UNSUBSCRIBE_URL = "https://unsubscribe.invalid/preview"
# What each kind of draft is called where a person sees it.
KIND_LABELS = {
    DraftKind.review: "held email",
    DraftKind.reply: "suggested reply",
    DraftKind.next_email: "stored draft",
}
# The status in which each kind waits for a person.
_WAITING = {
    DraftKind.review: DraftStatus.pending_review,
    DraftKind.reply: DraftStatus.pending_review,
    DraftKind.next_email: DraftStatus.draft,
}


class ReviewItem(BaseModel):
    id: int
    kind: DraftKind  # review: held email | reply: suggested reply | next_email: stored draft
    kind_label: str
    waiting: bool  # still waits for a person
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
    """The draft after the decision, the deal's state as its workflow returned it (None when
    nothing was asked of the workflow: a suggested reply or stored draft rejected) and, for a
    suggested reply or stored draft, what the send did (`sent`, else `outcome` and `detail`:
    suppressed, deferred by the daily cap or the send gap with `retry_at`, failed)."""

    draft: ReviewItem
    deal: DealStateView | None
    sent: bool | None = None
    outcome: str | None = None
    detail: str = ""
    retry_at: datetime | None = None


def _query(kinds: tuple[DraftKind, ...] = tuple(KIND_LABELS)) -> Any:  # paginate takes a Select
    # A suggested reply or stored draft names its deal, not always its contact: the contact is
    # the draft's own, else its deal's. Two outer joins on primary keys (a join on
    # coalesce(draft.contact, deal.contact) is served by no index: 137 ms p95 at 100k deals).
    own, deals = aliased(Contact), aliased(Contact)
    has_own = col(EmailDraft.contact_id).is_not(None)
    return (
        select(
            EmailDraft,
            case((has_own, own.email), else_=deals.email),
            case((has_own, own.name), else_=deals.name),
            PipelineStage.name,
        )
        .join(own, col(own.id) == col(EmailDraft.contact_id), isouter=True)
        .join(Deal, col(Deal.id) == col(EmailDraft.deal_id), isouter=True)
        .join(deals, col(deals.id) == col(Deal.contact_id), isouter=True)
        .join(PipelineStage, col(PipelineStage.id) == col(EmailDraft.stage_id), isouter=True)
        .where(col(EmailDraft.kind).in_(kinds))
    )


def _waiting(kinds: tuple[DraftKind, ...]) -> Any:
    return or_(
        *(
            and_(col(EmailDraft.kind) == kind, col(EmailDraft.status) == _WAITING[kind])
            for kind in kinds
        )
    )


def _item(row: Any) -> ReviewItem:
    draft, email, name, stage_name = row
    end = draft.sent_at or draft.reviewed_at or utcnow()
    return ReviewItem(
        id=draft.id,
        kind=draft.kind,
        kind_label=KIND_LABELS.get(draft.kind, str(draft.kind)),
        waiting=draft.status == _WAITING.get(draft.kind),
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
    kind: DraftKind | None = None,
) -> Page[ReviewItem]:
    """Drafts waiting for a person, oldest first (the longest wait comes first), or newest
    first; `brand_ids` narrows to those brands (the console's operators). `kind` None: every
    kind; reply: answers to replies, among them replies read with low confidence, whose deal
    waits paused with the reading in `review_note`."""
    kinds = tuple(KIND_LABELS) if kind is None else (kind,)
    stmt = _query(kinds).where(_waiting(kinds))
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
    if not item.waiting:
        raise Conflict(
            f"Review draft {draft_id} is no longer waiting for review (it is {item.status})",
            code="draft_not_pending",
        )
    draft = session.get(EmailDraft, draft_id)
    deal = session.get(Deal, item.deal_id)
    assert draft is not None
    if deal is None:
        raise NotFound(f"Deal {item.deal_id} of review draft {draft_id} does not exist")
    if draft.kind == DraftKind.next_email and draft.stage_id is not None:
        # A stored draft is the email of one stage: once the deal moved on it is stale.
        stage = next_email_stage(session, deal)
        if stage is None or stage.id != draft.stage_id:
            raise Conflict(
                f"Deal {deal.id} moved on since draft {draft_id} was stored: it no longer sends "
                "that email next; store a new draft",
                code="draft_stale",
            )
    return draft, deal


async def load_pending(session: Session, draft_id: int) -> tuple[EmailDraft, Deal]:
    """The draft (404 unknown, 409 `draft_not_pending` once decided, `draft_stale` for a stored
    draft whose deal moved on) and its deal. The caller
    commits before delivering the decision to the workflow."""
    return await in_thread(_pending_draft, session, draft_id)


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


# ------------------------------------------------- suggested replies and stored drafts
def is_held(draft: EmailDraft) -> bool:
    """A held email: its deal waits for the decision (the `review_draft` update)."""
    return draft.kind == DraftKind.review


def store_edit(session: Session, draft_id: int, edit: ReviewEdit) -> None:
    """A suggested reply's or stored draft's new subject and body, kept before it is sent (the
    send reads them); a held email's edit travels with the decision instead."""
    draft = session.get(EmailDraft, draft_id)
    assert draft is not None
    draft.subject, draft.body = edit.subject, edit.body
    draft.review_note, draft.updated_at = edit.note, utcnow()
    draft.outcome = {**draft.outcome, "reviewer": edit.reviewer, "action": "edit"}
    session.add(draft)
    session.flush()


def discard(session: Session, draft_id: int, note: ReviewNote) -> None:
    """Rejects a suggested reply or stored draft: nothing is sent, the deal goes on as it was."""
    draft = session.get(EmailDraft, draft_id)
    assert draft is not None
    now = utcnow()
    draft.status, draft.review_note = DraftStatus.rejected, note.note
    draft.reviewed_at = draft.updated_at = now
    draft.outcome = {**draft.outcome, "reviewer": note.reviewer, "action": "reject"}
    session.add(draft)
    session.flush()


async def send_person_draft(
    workflows: DealWorkflows, deal: Deal, draft: EmailDraft, actor: str
) -> SendNowResult:
    """Sends an approved suggested reply (an answer in the contact's thread) or stored draft
    (the deal's next email, as `send_now` sends it) through the deal's workflow."""
    assert draft.id is not None
    if draft.kind == DraftKind.reply:
        if not draft.body.strip():
            raise Unprocessable(
                f"Suggested reply {draft.id} has no answer yet: write one (edit) and send that",
                code="empty_reply",
            )
        return await workflows.send_reply(deal, SendReplyRequest(draft_id=draft.id, actor=actor))
    return await workflows.send_now(deal, SendNowRequest(actor=actor, draft_id=draft.id))
