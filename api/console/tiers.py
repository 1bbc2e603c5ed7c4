"""Tier bulk actions in the console: each action's preview (how many deals and which, in the
operator's brands), then a confirm that acts on exactly the previewed deals through their
workflows, with what was done and what was skipped (`dealpilot.deals.tier_actions`, the same
functions as `/api/crm/tier-actions/`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from api.console.deps import OperatorDep, SessionCookieDep, render
from api.deps import SessionDep, SettingsDep, TemporalDep, TransactDep
from dealpilot.core.errors import DealpilotError
from dealpilot.deals import tier_actions
from dealpilot.deals.tier_actions import LABELS, TIER_OF, TierAction, TierActionConfirm

router = APIRouter(prefix="/tiers")


@router.get("/")
def tiers_page(
    request: Request, operator: OperatorDep, session: SessionDep, settings: SettingsDep
) -> Response:
    secret = settings.session_secret.get_secret_value()
    previews = [
        tier_actions.preview(session, action, secret=secret, scope=operator.scope)
        for action in TierAction
    ]
    return render(request, "tiers.html", {"previews": previews})


@router.get("/{action}")
def preview_page(
    request: Request,
    action: TierAction,
    operator: OperatorDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    secret = settings.session_secret.get_secret_value()
    shown = tier_actions.preview(session, action, secret=secret, scope=operator.scope)
    return render(request, "tier_preview.html", {"preview": shown})


@router.post("/{action}/confirm")
async def confirm(
    request: Request,
    action: TierAction,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    settings: SettingsDep,
    transact: TransactDep,
    temporal: TemporalDep,
    token: Annotated[str, Form(max_length=200)],
    deal_ids: Annotated[list[int] | None, Form()] = None,
) -> Response:
    try:
        data = TierActionConfirm(deal_ids=deal_ids or [], token=token)
        result = await tier_actions.confirm(
            temporal,
            transact,
            action,
            data,
            secret=settings.session_secret.get_secret_value(),
            actor=operator.email,
            scope=operator.scope,
        )
    except ValidationError:
        cookie.flash("Nothing to confirm: the preview listed no deals.", "error")
        return RedirectResponse(f"/console/tiers/{action}", status_code=303)
    except DealpilotError as exc:
        cookie.flash(f"Not done: {exc.message}", "error")
        return RedirectResponse(f"/console/tiers/{action}", status_code=303)
    context = {"result": result, "label": LABELS[action], "tier": TIER_OF[action]}
    return render(request, "tier_result.html", context)
