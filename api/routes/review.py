"""The review queue: every draft of a deal that waits for a person, with its kind
(`kind_label`): "held email" (human review mode, per brand or pipeline: the deal's workflow
waits for the decision), "suggested reply" (the AI's answer to a contact's reply) and "stored
draft" (a deal's next email stored by `POST /api/crm/deals/drafts/`). Approving (or editing)
sends it through the deal's workflow, with the guards of every send (suppression, bounces, the
daily cap and send gap, the once-only ledger): a suggested reply as an answer in the contact's
thread ("Re:" subject, In-Reply-To and References of their message), a stored draft as the
deal's next email. Rejecting sends nothing.

Errors: 404 unknown draft, 409 `draft_not_pending` (already decided, or the deal moved on:
a reply, unsubscribe or stage move discards a held email), 409 `draft_stale` (a stored draft
whose deal no longer sends that email next), 409 `deal_closed`,
`no_next_email`, `review_pending`, `deal_paused` (a stored draft whose deal cannot send its
next email now), 422 `template_error` for an edit that does not render, 422 `empty_reply` for
a suggested reply with no answer written, 503 `temporal_unavailable`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Body, Depends, Query
from starlette.concurrency import run_in_threadpool

from api.deps import IdPath, IdQuery, PageDep, RendererDep, SessionDep, TemporalDep, UnitOfWorkDep
from api.routing import CRMRouter
from dealpilot.core.errors import BadRequest
from dealpilot.deals.lookup import resolve_brand_id
from dealpilot.review import service
from dealpilot.review.service import ReviewEdit, ReviewItem, ReviewNote, ReviewResult
from models import Deal, DraftKind, EmailDraft
from models.pagination import Page
from models.uow import UnitOfWork
from workflows.contracts import ReviewDecision

router = CRMRouter(prefix="/review", tags=["review queue"])


def _waiting(
    session: SessionDep,
    page: PageDep,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    pipeline: IdQuery = None,
    deal: IdQuery = None,
) -> Callable[[DraftKind | None], Page[ReviewItem]]:
    """The filters both lists take; the list of drafts of a kind, narrowed by them."""
    brand_id = resolve_brand_id(session, brand)

    def of_kind(kind: DraftKind | None) -> Page[ReviewItem]:
        return service.list_pending(
            session, page, brand_id=brand_id, pipeline_id=pipeline, deal_id=deal, kind=kind
        )

    return of_kind


Waiting = Annotated[Callable[[DraftKind | None], Page[ReviewItem]], Depends(_waiting)]
QUEUE_KINDS = (DraftKind.review, DraftKind.reply, DraftKind.next_email)


@router.get("/", response_model=Page[ReviewItem])
def list_review_queue(
    waiting: Waiting,
    kind: Annotated[
        DraftKind | None,
        Query(
            description="review (held email), reply (suggested reply), next_email (stored draft)"
        ),
    ] = None,
) -> Page[ReviewItem]:
    """Every draft waiting for a person (held emails, suggested replies, stored drafts), the
    longest-waiting first; `kind` narrows to one kind."""
    if kind is not None and kind not in QUEUE_KINDS:
        raise BadRequest(f"kind must be one of {', '.join(QUEUE_KINDS)}", code="invalid_kind")
    return waiting(kind)


@router.get("/replies/", response_model=Page[ReviewItem])
def list_replies_for_a_person(waiting: Waiting) -> Page[ReviewItem]:
    """Replies waiting for a person: suggested answers to interested replies and questions,
    and replies the AI read with too little confidence to act on (their deal is paused; the
    reading is in `review_note`). A person answers, then resumes or moves the deal."""
    return waiting(DraftKind.reply)


@router.get("/{draft_id}/", response_model=ReviewItem)
def get_review_draft(draft_id: IdPath, session: SessionDep) -> ReviewItem:
    """One review draft, waiting or decided (status, note, reviewed_at, sent_at)."""
    return service.get_item(session, draft_id)


async def _pending(uow: UnitOfWork, draft_id: int) -> tuple[EmailDraft, Deal]:
    """The pending draft and its deal, with the read committed: no transaction stays open
    while the workflow is asked (its activity writes the same row)."""
    draft, deal = await service.load_pending(uow.session, draft_id)
    await uow.commit_now()
    return draft, deal


async def _decide(
    session: SessionDep, temporal: TemporalDep, deal: Deal, decision: ReviewDecision
) -> ReviewResult:
    state = await service.decide(temporal, deal, decision)
    draft = await run_in_threadpool(service.reread, session, decision.draft_id)
    return ReviewResult(draft=draft, deal=state)


async def _send(
    session: SessionDep, temporal: TemporalDep, deal: Deal, draft: EmailDraft, reviewer: str
) -> ReviewResult:
    """A suggested reply or stored draft, sent by the deal's workflow."""
    result = await service.send_person_draft(temporal, deal, draft, reviewer)
    item = await run_in_threadpool(service.reread, session, draft.id or 0)
    return ReviewResult(
        draft=item,
        deal=result.state,
        sent=result.sent,
        outcome=result.outcome,
        detail=result.detail,
        retry_at=result.retry_at,
    )


@router.post("/{draft_id}/approve/", response_model=ReviewResult)
async def approve(
    draft_id: IdPath,
    uow: UnitOfWorkDep,
    session: SessionDep,
    temporal: TemporalDep,
    body: Annotated[ReviewNote | None, Body()] = None,
) -> ReviewResult:
    """Sends the draft as it is, through the normal send path (daily cap, gap, suppression and
    the once-only ledger still apply). A held email waits for the send window; a suggested
    reply or stored draft goes now (a person sends it), and the answer says what happened."""
    data = body or ReviewNote()
    draft, deal = await _pending(uow, draft_id)
    if not service.is_held(draft):
        return await _send(session, temporal, deal, draft, data.reviewer)
    decision = ReviewDecision(
        draft_id=draft_id, action="approve", note=data.note, reviewer=data.reviewer
    )
    return await _decide(session, temporal, deal, decision)


@router.post("/{draft_id}/edit/", response_model=ReviewResult)
async def edit(
    draft_id: IdPath,
    data: ReviewEdit,
    uow: UnitOfWorkDep,
    session: SessionDep,
    temporal: TemporalDep,
    renderer: RendererDep,
) -> ReviewResult:
    """Stores the edited subject and body on the draft and sends them. Both are templates
    rendered for the contact in the sandbox (`{{ contact.first_name }}`...); a body that is
    not a whole HTML document goes into the brand layout (greeting, sign-off, unsubscribe
    footer)."""
    draft, deal = await _pending(uow, draft_id)
    await run_in_threadpool(service.check_edit, session, renderer, draft, data)
    if not service.is_held(draft):
        await run_in_threadpool(service.store_edit, session, draft_id, data)
        await uow.commit_now()  # the send reads the edited row
        return await _send(session, temporal, deal, draft, data.reviewer)
    await uow.commit_now()  # the edit's check read the deal: end that read too
    decision = ReviewDecision(
        draft_id=draft_id,
        action="edit",
        subject=data.subject,
        body=data.body,
        note=data.note,
        reviewer=data.reviewer,
    )
    return await _decide(session, temporal, deal, decision)


@router.post("/{draft_id}/reject/", response_model=ReviewResult)
async def reject(
    draft_id: IdPath,
    uow: UnitOfWorkDep,
    session: SessionDep,
    temporal: TemporalDep,
    body: Annotated[ReviewNote | None, Body()] = None,
) -> ReviewResult:
    """Sends nothing. A held email: the deal pauses; an operator then resumes it (the autopilot
    drafts again), moves it or marks it lost. A suggested reply or stored draft is discarded
    and the deal goes on as it was."""
    data = body or ReviewNote()
    draft, deal = await _pending(uow, draft_id)
    if not service.is_held(draft):
        await run_in_threadpool(service.discard, session, draft_id, data)
        await uow.commit_now()
        item = await run_in_threadpool(service.reread, session, draft_id)
        return ReviewResult(draft=item, deal=None)
    decision = ReviewDecision(
        draft_id=draft_id, action="reject", note=data.note, reviewer=data.reviewer
    )
    return await _decide(session, temporal, deal, decision)
