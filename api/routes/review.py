"""The review queue (human review mode, per brand or pipeline): the autopilot's emails wait
here as drafts until a person approves, edits or rejects them; the deal's workflow waits for
the decision and sends (or not) accordingly.

Errors: 404 unknown draft, 409 `draft_not_pending` (already decided, or the deal moved on:
a reply, unsubscribe or stage move discards the draft), 409 `deal_closed`, 422
`template_error` for an edit that does not render, 503 `temporal_unavailable`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Body, Depends, Query
from starlette.concurrency import run_in_threadpool

from api.deps import IdPath, IdQuery, PageDep, RendererDep, SessionDep, TemporalDep, UnitOfWorkDep
from api.routing import CRMRouter
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
) -> Callable[[DraftKind], Page[ReviewItem]]:
    """The filters both lists take; the list of drafts of a kind, narrowed by them."""
    brand_id = resolve_brand_id(session, brand)

    def of_kind(kind: DraftKind) -> Page[ReviewItem]:
        return service.list_pending(
            session, page, brand_id=brand_id, pipeline_id=pipeline, deal_id=deal, kind=kind
        )

    return of_kind


Waiting = Annotated[Callable[[DraftKind], Page[ReviewItem]], Depends(_waiting)]


@router.get("/", response_model=Page[ReviewItem])
def list_review_queue(waiting: Waiting) -> Page[ReviewItem]:
    """Emails waiting for a person, the longest-waiting first."""
    return waiting(DraftKind.review)


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


@router.post("/{draft_id}/approve/", response_model=ReviewResult)
async def approve(
    draft_id: IdPath,
    uow: UnitOfWorkDep,
    session: SessionDep,
    temporal: TemporalDep,
    body: Annotated[ReviewNote | None, Body()] = None,
) -> ReviewResult:
    """Sends the draft as it is, through the normal send path (send window, daily cap, gap,
    suppression and the once-only ledger still apply: outside the window it goes when the
    window opens)."""
    data = body or ReviewNote()
    _draft, deal = await _pending(uow, draft_id)
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
    """Sends nothing and pauses the deal; an operator then resumes it (the autopilot drafts
    again), moves it or marks it lost."""
    data = body or ReviewNote()
    _draft, deal = await _pending(uow, draft_id)
    decision = ReviewDecision(
        draft_id=draft_id, action="reject", note=data.note, reviewer=data.reviewer
    )
    return await _decide(session, temporal, deal, decision)
