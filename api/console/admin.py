"""Settings (admins only): users and their brands, and each brand's sending settings."""

from __future__ import annotations

import hashlib
from collections.abc import Set as AbstractSet
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from sqlmodel import col, select
from starlette.responses import RedirectResponse, Response

from api.console.deps import AdminDep, SessionCookieDep, render
from api.deps import IdPath, RendererDep, SessionDep
from dealpilot.accounts import MIN_PASSWORD_LENGTH, create_user, list_users, update_user
from dealpilot.ai.prompt_store import update_prompt
from dealpilot.analytics import probability
from dealpilot.core.errors import DealpilotError, NotFound
from dealpilot.deals import ab_winner, warmup
from dealpilot.deals.brands import update_brand
from dealpilot.deals.service import stages_in_order
from dealpilot.deals.stages import update_stage
from dealpilot.deals.updates import apply_update
from models import AIPromptTemplate, Brand, MailProviderName, Pipeline, PipelineStage, UserRole
from models.ai import AIPromptTemplateUpdate
from models.brand import BrandUpdate
from models.pipeline import PipelineStageUpdate, PipelineUpdate

router = APIRouter(prefix="/settings")


def _brands(session: SessionDep) -> list[Brand]:
    return list(session.exec(select(Brand).order_by(col(Brand.slug))).all())


@router.get("/")
def settings_page(request: Request, admin: AdminDep, session: SessionDep) -> Response:
    context = {
        "users": list_users(session),
        "pipelines": list(
            session.exec(select(Pipeline).order_by(col(Pipeline.brand_id), col(Pipeline.name)))
        ),
        "brands": _brands(session),
        "warmups": {b.id: warmup.status(b) for b in _brands(session)},
        "roles": list(UserRole),
        "providers": list(MailProviderName),
        "min_length": MIN_PASSWORD_LENGTH,
        "days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "api_keys": key_fingerprints(request.app.state.api_keys),
    }
    return render(request, "settings.html", context)


def key_fingerprints(keys: AbstractSet[str]) -> list[str]:
    """What an admin sees of the REST API keys: a short SHA-256 fingerprint of each, to tell
    which are configured while rotating, never the key (the keys live in the environment)."""
    return sorted(hashlib.sha256(k.encode()).hexdigest()[:12] for k in keys)


@router.post("/users")
def add_user(
    admin: AdminDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[UserRole, Form()],
    name: Annotated[str, Form(max_length=200)] = "",
    brands: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        user = create_user(
            session, email=email, password=password, role=role, name=name, brands=brands or []
        )
    except DealpilotError as exc:
        cookie.flash(f"No user was created: {exc.message}", "error")
    else:
        cookie.flash(f"{user.email} can sign in now.", "success")
    return RedirectResponse("/console/settings/", status_code=303)


@router.post("/users/{user_id}")
def change_user(
    user_id: IdPath,
    admin: AdminDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    role: Annotated[UserRole, Form()],
    active: Annotated[bool, Form()] = False,
    brands: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        user = update_user(
            session,
            user_id,
            role=role,
            brands=brands or [],
            is_active=active,
            acting_user_id=admin.user_id,
        )
    except DealpilotError as exc:
        cookie.flash(f"Not changed: {exc.message}", "error")
    else:
        cookie.flash(f"{user.email} is updated.", "success")
    return RedirectResponse("/console/settings/", status_code=303)


@router.post("/brands/{brand_id}")
def change_brand(
    brand_id: IdPath,
    admin: AdminDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    timezone: Annotated[str, Form(max_length=64)],
    send_window_start: Annotated[time, Form()],
    send_window_end: Annotated[time, Form()],
    daily_cap: Annotated[int, Form()],
    min_gap_seconds: Annotated[int, Form()],
    provider: Annotated[MailProviderName, Form()],
    postal_address: Annotated[str, Form(max_length=500)] = "",
    send_days: Annotated[list[int] | None, Form()] = None,
    human_review: Annotated[bool, Form()] = False,
    warmup_enabled: Annotated[bool, Form()] = False,
    warmup_start_cap: Annotated[int, Form()] = 20,
    warmup_increase_percent: Annotated[int, Form()] = 50,
) -> Response:
    """The same validation and update as `PATCH /api/crm/brands/{id}/`."""
    try:
        data = BrandUpdate(
            timezone=timezone,
            send_window_start=send_window_start,
            send_window_end=send_window_end,
            send_days=send_days or [],
            daily_cap=daily_cap,
            min_gap_seconds=min_gap_seconds,
            provider=provider,
            human_review=human_review,
            postal_address=postal_address,
            warmup_enabled=warmup_enabled,
            warmup_start_cap=warmup_start_cap,
            warmup_increase_percent=warmup_increase_percent,
        )
        brand = update_brand(session, brand_id, data)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        cookie.flash(f"Not saved: {problems}", "error")
    except DealpilotError as exc:
        session.rollback()  # the refused change was applied to the row: none of it stays
        cookie.flash(f"Not saved: {exc.message}", "error")
    else:
        cookie.flash(f"{brand.name}'s settings are saved.", "success")
    return RedirectResponse("/console/settings/", status_code=303)


@router.get("/pipelines/{pipeline_id}")
def pipeline_page(
    request: Request, pipeline_id: IdPath, admin: AdminDep, session: SessionDep
) -> Response:
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound(f"Pipeline {pipeline_id} not found")
    stages = stages_in_order(session, pipeline_id)
    # The forecast's chance per stage, in percent: the stage's own, or its kind's default.
    chances = {s.id: f"{float(probability(s) * 100):g}" for s in stages}
    context = {
        "pipeline": pipeline,
        "stages": stages,
        "chances": chances,
        "ab_tests": {s.id: ab_winner.current_test(session, s) for s in stages},
        "ab_history": {s.id: ab_winner.history(session, s) for s in stages},
    }
    return render(request, "pipeline_settings.html", context)


@router.post("/stages/{stage_id}")
def change_stage(
    stage_id: IdPath,
    admin: AdminDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    renderer: RendererDep,
    days_until_followup: Annotated[str, Form(max_length=6)] = "",
    subject: Annotated[str, Form(max_length=300)] = "",
    subject_variant_b: Annotated[str, Form(max_length=300)] = "",
    ab_min_sends: Annotated[int | None, Form(ge=10, le=1_000_000)] = None,
    probability: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Cadence, subjects (A and B), checked in the sandbox as sending renders them, and the
    win probability in percent (empty: the kind's default), by the same `update_stage` as
    `PATCH /api/crm/stages/{id}/`."""
    pipeline_id = 0
    try:
        days = int(days_until_followup) if days_until_followup.strip() else None
        chance = _percent(probability)
        data = PipelineStageUpdate(
            days_until_followup=days,
            subject=subject.strip() or None,
            subject_variant_b=subject_variant_b.strip() or None,
            probability=chance,
        )
        if ab_min_sends is not None:  # unchanged unless the form gives a number
            data.ab_min_sends = ab_min_sends
        stage = update_stage(session, stage_id, data, renderer=renderer)
        pipeline_id = stage.pipeline_id
    except (ValueError, DealpilotError) as exc:
        session.rollback()
        problem = (
            exc.message
            if isinstance(exc, DealpilotError)
            else "days must be a whole number and the probability a percentage from 0 to 100"
        )
        cookie.flash(f"Not saved: {problem}", "error")
        row = session.get(PipelineStage, stage_id)
        pipeline_id = row.pipeline_id if row else 0
    else:
        cookie.flash(f"{stage.name} is saved.", "success")
    target = f"/console/settings/pipelines/{pipeline_id}" if pipeline_id else "/console/settings/"
    return RedirectResponse(target, status_code=303)


def _percent(text: str) -> Decimal | None:
    """ "25" or "12.5" (percent) as a probability (0.25, 0.125); empty: None."""
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip().rstrip("%")) / 100
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite() or not 0 <= value <= 1:
        raise ValueError("out of range")
    return value.quantize(Decimal("0.001"))


@router.post("/pipelines/{pipeline_id}")
def change_pipeline(
    pipeline_id: IdPath,
    admin: AdminDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    default_deal_value: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The value of a deal created without one, as `PATCH /api/crm/pipelines/{id}/`."""
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound(f"Pipeline {pipeline_id} not found")
    try:
        text = default_deal_value.strip()
        data = PipelineUpdate(default_deal_value=Decimal(text) if text else None)
    except (InvalidOperation, ValidationError):
        cookie.flash("Not saved: the default deal value must be a positive amount", "error")
    else:
        apply_update(pipeline, data, nullable={"default_deal_value"})
        session.add(pipeline)
        cookie.flash(f"{pipeline.name}'s default deal value is saved.", "success")
    return RedirectResponse(f"/console/settings/pipelines/{pipeline_id}", status_code=303)


@router.get("/prompts")
def prompts_page(request: Request, admin: AdminDep, session: SessionDep) -> Response:
    prompts = session.exec(select(AIPromptTemplate).order_by(col(AIPromptTemplate.name))).all()
    return render(request, "prompts.html", {"prompts": prompts})


@router.post("/prompts/{prompt_id}")
def change_prompt(
    prompt_id: IdPath,
    admin: AdminDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    prompt_text: Annotated[str, Form(min_length=1, max_length=50_000)],
    active: Annotated[bool, Form()] = False,
) -> Response:
    """Checked (markers, template syntax) before it is stored, by `update_prompt`."""
    data = AIPromptTemplateUpdate(prompt_text=prompt_text, is_active=active)
    try:
        prompt = update_prompt(session, prompt_id, data)
    except DealpilotError as exc:
        session.rollback()
        problems = "; ".join(d.problem for d in exc.details or [])
        cookie.flash(f"Not saved: {exc.message}" + (f" ({problems})" if problems else ""), "error")
    else:
        cookie.flash(f"{prompt.name} is saved; the next AI call uses it.", "success")
    return RedirectResponse("/console/settings/prompts", status_code=303)
