"""The review queue: every draft that waits for a person, newest first; approve, edit and
approve, or reject, each delivered to the deal's workflow as `POST /api/crm/review/{id}/...`
does; each draft shows its kind (held email, suggested reply, stored draft). Keyboard: j/k
move between drafts, a approves, e edits, r rejects (console.js)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.console.deps import OperatorDep, SessionCookieDep, render
from api.deps import IdPath, OptionalTemporalDep, RendererDep, SessionDep, UnitOfWorkDep
from dealpilot.core.errors import DealpilotError
from dealpilot.review import service as review
from dealpilot.review.service import ReviewEdit, ReviewNote
from dealpilot.temporal.deals import require_workflows
from models.pagination import PageParams
from workflows.contracts import ReviewDecision

router = APIRouter()
PAGE = 20
DONE = {
    "approve": "approved: it is sent in the send window",
    "edit": "edited and approved: it is sent in the send window",
    "reject": "rejected: nothing is sent and the deal is paused",
}
PAST = {"approve": "approved", "edit": "edited", "reject": "rejected"}


@router.get("/review")
def review_queue(
    request: Request,
    operator: OperatorDep,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    page = review.list_pending(
        session,
        PageParams(limit=PAGE, offset=offset),
        brand_id=None,
        pipeline_id=None,
        deal_id=None,
        brand_ids=operator.scope.brand_ids,
        newest_first=True,
    )
    return render(request, "review.html", {"page": page, "per_page": PAGE})


def _back(target: str) -> str:
    return target if target in ("/console/", "/console/review") else "/console/"


@router.post("/review/{draft_id}/{action}")
async def decide_review(
    draft_id: IdPath,
    action: str,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    temporal: OptionalTemporalDep,
    renderer: RendererDep,
    note: Annotated[str, Form(max_length=2000)] = "",
    subject: Annotated[str, Form(max_length=300)] = "",
    body: Annotated[str, Form(max_length=100_000)] = "",
    back: Annotated[str, Form(max_length=100)] = "/console/",
) -> Response:
    if action not in ("approve", "edit", "reject"):
        raise DealpilotError(f"No action {action!r}", code="not_found", status_code=404)
    draft, deal = await review.load_pending(uow.session, draft_id)
    operator.scope.require(draft.brand_id, what="Draft", row_id=draft_id)
    if not review.is_held(draft):
        try:
            if action == "edit":
                edit = ReviewEdit(subject=subject, body=body, note=note, reviewer=operator.email)
                await run_in_threadpool(review.check_edit, uow.session, renderer, draft, edit)
                await run_in_threadpool(review.store_edit, uow.session, draft_id, edit)
            if action == "reject":
                reject = ReviewNote(note=note, reviewer=operator.email)
                await run_in_threadpool(review.discard, uow.session, draft_id, reject)
            await uow.commit_now()
            if action != "reject":
                workflows = require_workflows(temporal)
                sent = await review.send_person_draft(workflows, deal, draft, operator.email)
        except (DealpilotError, ValueError) as exc:
            problem = exc.message if isinstance(exc, DealpilotError) else "subject and body needed"
            cookie.flash(f"Draft {draft_id} was not {PAST[action]}: {problem}", "error")
        else:
            if action == "reject":
                cookie.flash(f"Draft {draft_id} rejected: nothing is sent.", "success")
            elif sent.sent:
                cookie.flash(f"Draft {draft_id} sent: \u201c{sent.subject}\u201d.", "success")
            else:
                text = f"Draft {draft_id} was not sent ({sent.outcome}): {sent.detail}"
                cookie.flash(text, "error")
        return RedirectResponse(_back(back), status_code=303)
    decision = ReviewDecision(draft_id=draft_id, action=action, note=note, reviewer=operator.email)
    try:
        if action == "edit":
            edit = ReviewEdit(subject=subject, body=body, note=note, reviewer=operator.email)
            await run_in_threadpool(review.check_edit, uow.session, renderer, draft, edit)
            decision.subject, decision.body = edit.subject, edit.body
        await uow.commit_now()  # no transaction open while the workflow decides
        await review.decide(require_workflows(temporal), deal, decision)
    except (DealpilotError, ValueError) as exc:
        problem = exc.message if isinstance(exc, DealpilotError) else "subject and body needed"
        cookie.flash(f"Draft {draft_id} was not {PAST[action]}: {problem}", "error")
    else:
        cookie.flash(f"Draft {draft_id} {DONE[action]}.", "success")
    return RedirectResponse(_back(back), status_code=303)
