"""Sending controls (admins): resume a brand's sending paused by the deliverability guard
(the button on Today), restart a brand's warm-up (settings), and decide a stage's A/B test
now (the pipeline's settings) — the same domain calls as the REST API."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from api.console.deps import AdminDep, SessionCookieDep
from api.deps import IdPath, SessionDep
from dealpilot.core.errors import DealpilotError, NotFound
from dealpilot.deals import ab_winner, deliverability, warmup
from models import Brand, PipelineStage, utcnow

router = APIRouter()


def _brand(session: SessionDep, admin: AdminDep, brand_id: int) -> Brand:
    brand = session.get(Brand, brand_id)
    if brand is None or not admin.scope.allows(brand.id):
        raise NotFound(f"Brand {brand_id} not found")
    return brand


@router.post("/brands/{brand_id}/resume-sending")
def resume_sending(
    brand_id: IdPath, admin: AdminDep, cookie: SessionCookieDep, session: SessionDep
) -> Response:
    brand = _brand(session, admin, brand_id)
    try:
        deliverability.resume(session, brand, utcnow(), by=admin.email)
    except DealpilotError as exc:
        cookie.flash(exc.message, "error")
    else:
        cookie.flash(f"{brand.name} sends again; the deals that waited go out.", "success")
    return RedirectResponse("/console/", status_code=303)


@router.post("/brands/{brand_id}/warmup/restart")
def restart_warmup(
    brand_id: IdPath, admin: AdminDep, cookie: SessionCookieDep, session: SessionDep
) -> Response:
    brand = _brand(session, admin, brand_id)
    warmup.restart(session, brand, utcnow())
    cookie.flash(
        f"{brand.name} warms up again from {warmup.effective_cap(brand)} a day.", "success"
    )
    return RedirectResponse("/console/settings/", status_code=303)


@router.post("/settings/stages/{stage_id}/ab/decide")
def decide_ab_test(
    stage_id: IdPath, admin: AdminDep, cookie: SessionCookieDep, session: SessionDep
) -> Response:
    stage = session.get(PipelineStage, stage_id)
    if stage is None:
        raise NotFound(f"Stage {stage_id} not found")
    decided = ab_winner.decide(session, stage, utcnow())
    if decided is None:
        test = ab_winner.current_test(session, stage)
        why = test.verdict.replace("_", " ") if test else "no test running"
        cookie.flash(f"{stage.name}: no winner yet ({why}).", "info")
    else:
        cookie.flash(
            f"{stage.name}: subject {decided.verdict} wins and is now the subject.", "success"
        )
    return RedirectResponse(f"/console/settings/pipelines/{stage.pipeline_id}", status_code=303)
