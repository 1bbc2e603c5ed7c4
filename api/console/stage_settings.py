"""A stage's email template, edited with a live preview (admins): the preview renders the
unsaved text as a chosen contact of the brand (or a sample contact) would receive it, with
the sandbox checks of a send; saving checks it again and stores it on the stage
(`dealpilot.deals.stage_templates`), where every later send of the stage finds it. A refused
template is shown on the page with the reason, the text kept for mending."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from sqlmodel import Session
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.console.deps import Forbidden, Operator, OperatorDep, SessionCookieDep, render
from api.deps import IdPath, RendererDep, SessionDep, SettingsDep
from dealpilot.core.enums import EngagementTier
from dealpilot.core.errors import DealpilotError, NotFound
from dealpilot.deals import stage_templates, tier_templates
from dealpilot.rendering.renderer import EmailRenderer
from models import Brand, Pipeline, PipelineStage
from models.pipeline import StageTierTemplateWrite

router = APIRouter(prefix="/settings/stages")
Template = Annotated[str, Form(max_length=stage_templates.MAX_TEMPLATE)]
To = Annotated[str, Form(max_length=320)]


def _stage(session: Session, operator: Operator, stage_id: int) -> tuple[PipelineStage, Brand]:
    """Another brand's stage is a 404 (as for any of its objects); only admins edit."""
    stage = session.get(PipelineStage, stage_id)
    brand = stage_templates.stage_brand(session, stage) if stage else None
    if stage is None or brand is None or not operator.scope.allows(brand.id):
        raise NotFound(f"Stage {stage_id} not found")
    if not operator.is_admin:
        raise Forbidden("Only an admin may change a pipeline's stages", code="forbidden")
    return stage, brand


def _page(
    request: Request,
    session: Session,
    renderer: EmailRenderer,
    base_url: str,
    stage: PipelineStage,
    brand: Brand,
    *,
    body: str,
    subject: str,
    to: str,
    problem: str = "",
    status_code: int = 200,
    tier: str = "",
) -> Response:
    shown: Any = None
    if not problem:
        try:
            ctx = stage_templates.recipient_context(session, brand, to, base_url=base_url)
            shown = stage_templates.preview(renderer, stage, ctx, body, subject)
        except DealpilotError as exc:
            problem, status_code = exc.message, exc.status_code
    context = {
        "stage": stage,
        "brand": brand,
        "pipeline": session.get(Pipeline, stage.pipeline_id),
        "body": body,
        "subject": subject,
        "to": to,
        "preview": shown,
        "problem": problem,
        "edited": stage.template_body is not None,
        "tier": tier,
        "tiers": [str(t) for t in tier_templates.TIERS],
        "tiered": {str(t.tier) for t in tier_templates.list_for_stage(session, stage.id or 0)},
    }
    return render(request, "stage_template.html", context, status_code=status_code)


@router.get("/{stage_id}")
def stage_page(
    request: Request,
    stage_id: IdPath,
    operator: OperatorDep,
    session: SessionDep,
    renderer: RendererDep,
    settings: SettingsDep,
    to: Annotated[str, Query(max_length=320)] = "",
    tier: Annotated[EngagementTier | None, Query()] = None,
) -> Response:
    """The stage's own email, or with `tier` its email for that tier (starting from the
    stage's own text when the tier has none yet)."""
    stage, brand = _stage(session, operator, stage_id)
    body = stage_templates.template_source(renderer, stage)
    subject = stage.subject or ""
    variant = tier_templates.find(session, stage_id, tier) if tier else None
    if variant is not None:
        body, subject = variant.template_body, variant.subject or subject
    return _page(
        request,
        session,
        renderer,
        settings.public_base_url,
        stage,
        brand,
        body=body,
        subject=subject,
        to=to,
        tier=str(tier or ""),
    )


@router.post("/{stage_id}/preview")
def preview(
    request: Request,
    stage_id: IdPath,
    operator: OperatorDep,
    session: SessionDep,
    renderer: RendererDep,
    settings: SettingsDep,
    body: Template,
    subject: Annotated[str, Form(max_length=300)] = "",
    to: To = "",
) -> Response:
    """The unsaved text as `to` would receive it: JSON for the page's script (as the text
    changes), the page itself without script. Stores nothing."""
    stage, brand = _stage(session, operator, stage_id)
    if "application/json" not in request.headers.get("accept", ""):
        return _page(
            request,
            session,
            renderer,
            settings.public_base_url,
            stage,
            brand,
            body=body,
            subject=subject,
            to=to,
        )
    try:
        ctx = stage_templates.recipient_context(
            session, brand, to, base_url=settings.public_base_url
        )
        email = stage_templates.preview(renderer, stage, ctx, body, subject)
    except DealpilotError as exc:
        return JSONResponse({"ok": False, "problem": exc.message}, status_code=exc.status_code)
    return JSONResponse(
        {"ok": True, "to": ctx.contact.email, "subject": email.subject, "text": email.text}
    )


@router.post("/{stage_id}/template")
def save(
    request: Request,
    stage_id: IdPath,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    renderer: RendererDep,
    settings: SettingsDep,
    body: Template,
    to: To = "",
) -> Response:
    stage, brand = _stage(session, operator, stage_id)
    try:
        stage_templates.save_template(
            session, renderer, stage_id, body, base_url=settings.public_base_url
        )
    except DealpilotError as exc:
        session.rollback()
        stage, brand = _stage(session, operator, stage_id)
        return _page(
            request,
            session,
            renderer,
            settings.public_base_url,
            stage,
            brand,
            body=body,
            subject=stage.subject or "",
            to=to,
            problem=f"Not saved: {exc.message}",
            status_code=exc.status_code,
        )
    if stage.template_body is None:
        cookie.flash(f"{stage.name} sends its template file again.", "success")
    else:
        cookie.flash(f"{stage.name}'s template is saved: the next send uses it.", "success")
    return RedirectResponse(f"/console/settings/stages/{stage_id}", status_code=303)


@router.post("/{stage_id}/tier/{tier}")
def save_tier(
    request: Request,
    stage_id: IdPath,
    tier: EngagementTier,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    renderer: RendererDep,
    settings: SettingsDep,
    body: Template,
    subject: Annotated[str, Form(max_length=300)] = "",
    to: To = "",
) -> Response:
    """The stage's email for `tier`, after the same checks as the stage's own."""
    stage, brand = _stage(session, operator, stage_id)
    try:
        data = StageTierTemplateWrite(subject=subject or None, template_body=body)
        tier_templates.save(
            session, renderer, stage_id, tier, data, base_url=settings.public_base_url
        )
    except (DealpilotError, ValidationError) as exc:
        session.rollback()
        stage, brand = _stage(session, operator, stage_id)
        why = exc.message if isinstance(exc, DealpilotError) else "the template is empty"
        return _page(
            request,
            session,
            renderer,
            settings.public_base_url,
            stage,
            brand,
            body=body,
            subject=subject,
            to=to,
            problem=f"Not saved: {why}",
            status_code=getattr(exc, "status_code", 422),
            tier=str(tier),
        )
    cookie.flash(f"{stage.name}'s {tier} email is saved: {tier} deals get it.", "success")
    return RedirectResponse(f"/console/settings/stages/{stage_id}?tier={tier}", status_code=303)


@router.post("/{stage_id}/tier/{tier}/delete")
def delete_tier(
    stage_id: IdPath,
    tier: EngagementTier,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    session: SessionDep,
) -> Response:
    stage, _brand = _stage(session, operator, stage_id)
    tier_templates.delete(session, stage_id, tier)
    cookie.flash(f"{tier} deals get {stage.name}'s own email again.", "success")
    return RedirectResponse(f"/console/settings/stages/{stage_id}", status_code=303)
