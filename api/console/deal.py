"""A deal's page and its actions (one at a time, or in bulk from the board)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.console.deal_actions import ACTIONS, BULK_ACTIONS, apply
from api.console.deps import OperatorDep, SessionCookieDep, render
from api.deps import (
    AIDep,
    IdPath,
    OptionalTemporalDep,
    RendererDep,
    SettingsDep,
    TransactDep,
    UnitOfWorkDep,
)
from dealpilot.core.errors import DealpilotError, Unprocessable
from dealpilot.deals.previews import preview_facts, render_preview
from dealpilot.desk.deal_page import deal_view, scoped_deal
from models import Deal
from workflows.contracts import DealStateView, TimelineEntry

router = APIRouter()


@router.get("/deals/{deal_id}")
async def deal_page(
    request: Request,
    deal_id: IdPath,
    operator: OperatorDep,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    temporal: OptionalTemporalDep,
) -> Response:
    view = await run_in_threadpool(deal_view, uow.session, operator.scope, deal_id)
    await uow.commit_now()  # no transaction stays open while the workflow is asked
    state: DealStateView | None = None
    timeline: list[TimelineEntry] = []
    problem = ""
    if view.deal.workflow_id is None:
        problem = "This deal's workflow has not started (Temporal was down when it was created)."
    elif temporal is None:
        problem = "Temporal is not reachable from the console: the timeline is not available."
    else:
        try:
            state, timeline = await temporal.state_and_timeline(deal_id)
        except DealpilotError as exc:
            problem = f"The workflow could not be asked: {exc.message}"
    ui = settings.temporal_ui_url.rstrip("/")
    context = {
        "view": view,
        "state": state,
        "timeline": list(reversed(timeline)),
        "problem": problem,
        "workflow_url": (
            f"{ui}/namespaces/{settings.temporal_namespace}/workflows/{view.deal.workflow_id}"
            if view.deal.workflow_id
            else None
        ),
    }
    return render(request, "deal.html", context)


@router.get("/deals/{deal_id}/preview")
async def next_email_preview(
    request: Request,
    deal_id: IdPath,
    operator: OperatorDep,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    renderer: RendererDep,
    ai: AIDep,
    temporal: OptionalTemporalDep,
) -> Response:
    """The email "Send the next email now" would send, rendered, not sent (as
    `GET /api/crm/deals/{id}/preview/`)."""
    await run_in_threadpool(scoped_deal, uow.session, operator.scope, deal_id)
    try:
        facts = await run_in_threadpool(
            preview_facts, uow.session, deal_id, base_url=settings.public_base_url
        )
        email = await render_preview(renderer, ai, facts, temporal)
    except DealpilotError as exc:
        return render(request, "preview.html", {"deal_id": deal_id, "problem": exc.message})
    context = {"deal_id": deal_id, "facts": facts, "email": email, "problem": ""}
    return render(request, "preview.html", context)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.post("/deals/{deal_id}/{action}")
async def deal_action(
    request: Request,
    deal_id: IdPath,
    action: str,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    transact: TransactDep,
    temporal: OptionalTemporalDep,
    stage_id: Annotated[int | None, Form(ge=1)] = None,
    reason: Annotated[str, Form(max_length=500)] = "",
    value: Annotated[str, Form(max_length=20)] = "",
    when: Annotated[str, Form(max_length=40)] = "",
    owner: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    if action not in ACTIONS:
        raise DealpilotError(f"No action {action!r}", code="not_found", status_code=404)
    deal = await run_in_threadpool(scoped_deal, uow.session, operator.scope, deal_id)
    await uow.commit_now()
    ok = True
    try:
        message = await apply(
            action,
            deal=deal,
            workflows=temporal,
            transact=transact,
            uow=uow,
            actor=operator.email,
            stage_id=stage_id,
            reason=reason,
            value=value,
            when=when,
            owner=owner,
        )
    except DealpilotError as exc:
        ok, message = False, f"Not done: {exc.message}"
    if _wants_json(request):
        return JSONResponse({"ok": ok, "message": message}, status_code=200 if ok else 409)
    cookie.flash(message, "success" if ok else "error")
    return RedirectResponse(f"/console/deals/{deal_id}", status_code=303)


@router.post("/board/bulk")
async def bulk_action(
    operator: OperatorDep,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    transact: TransactDep,
    temporal: OptionalTemporalDep,
    action: Annotated[str, Form()],
    deal_ids: Annotated[list[int], Form()],
    back: Annotated[str, Form(max_length=2000)] = "/console/board",
) -> Response:
    """One action on many deals; each deal's workflow decides for itself, and the page says
    which were done and which refused."""
    if action not in BULK_ACTIONS:
        raise Unprocessable(f"No bulk action {action!r}", code="invalid_action")
    ids = list(dict.fromkeys(deal_ids))[:200]
    deals: list[Deal] = []
    for deal_id in ids:
        deals.append(await run_in_threadpool(scoped_deal, uow.session, operator.scope, deal_id))
    await uow.commit_now()
    done, refused = 0, []
    for deal in deals:
        try:
            await apply(
                action,
                deal=deal,
                workflows=temporal,
                transact=transact,
                uow=uow,
                actor=operator.email,
                reason="bulk action from the board",
            )
            done += 1
        except DealpilotError as exc:
            refused.append(f"deal {deal.id}: {exc.message}")
    cookie.flash(f"{action}: done for {done} of {len(deals)} deals.", "success")
    if refused:
        cookie.flash("Refused: " + "; ".join(refused[:10]), "error")
    target = back if back.startswith("/console/board") else "/console/board"
    return RedirectResponse(target, status_code=303)
