"""Today (the console's home page), and the review queue's and suggested replies' buttons."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.console.deps import OperatorDep, SessionCookieDep, render
from api.deps import IdPath, OptionalTemporalDep, SessionDep, SettingsDep, UnitOfWorkDep
from dealpilot.core.errors import DealpilotError
from dealpilot.desk.today import today
from dealpilot.review import service as review
from dealpilot.temporal.deals import require_workflows
from models import utcnow
from workflows.contracts import ReviewDecision

router = APIRouter()


@router.get("/")
def today_page(
    request: Request, operator: OperatorDep, session: SessionDep, settings: SettingsDep
) -> Response:
    work = today(
        session,
        operator.scope,
        now=utcnow(),
        stuck_after=timedelta(days=settings.stuck_deal_days),
    )
    return render(request, "today.html", {"today": work})


@router.post("/review/{draft_id}/{action}")
async def decide_review(
    draft_id: IdPath,
    action: str,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    temporal: OptionalTemporalDep,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve or reject a review-queue draft through the deal's workflow, as
    `POST /api/crm/review/{id}/approve/` does."""
    if action not in ("approve", "reject"):
        raise DealpilotError(f"No action {action!r}", code="not_found", status_code=404)
    draft, deal = await review.load_pending(uow.session, draft_id)
    operator.scope.require(draft.brand_id, what="Draft", row_id=draft_id)
    await uow.commit_now()
    decision = ReviewDecision(draft_id=draft_id, action=action, note=note, reviewer=operator.email)
    try:
        await review.decide(require_workflows(temporal), deal, decision)
    except DealpilotError as exc:
        cookie.flash(f"Draft {draft_id} was not {action}d: {exc.message}", "error")
    else:
        done = "approved: it is sent in the send window" if action == "approve" else "rejected"
        cookie.flash(f"Draft {draft_id} {done}.", "success")
    await run_in_threadpool(uow.session.expire_all)
    return RedirectResponse("/console/", status_code=303)
