"""The composer: an email to many recipients of one brand, drafted by the AI or by hand,
edited with a preview as a chosen recipient will see it, then sent now or scheduled. The
same composer service as `/api/crm/composer/`; sending enrols each recipient in the pipeline
and each deal's workflow sends its own copy (window, cap and suppression apply)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.console.composer_recipients import chosen_filter, filters_for, found_contacts
from api.console.deps import Operator, OperatorDep, SessionCookieDep, render
from api.deps import (
    AIDep,
    IdPath,
    OptionalTemporalDep,
    RendererDep,
    SessionDep,
    SettingsDep,
    TransactDep,
    UnitOfWorkDep,
)
from dealpilot.composer import recipients, rules, service
from dealpilot.composer.schemas import DraftCreate, DraftUpdate, PreviewRequest
from dealpilot.composer.sending import send_now
from dealpilot.core.errors import DealpilotError, NotFound
from dealpilot.desk.contacts import brands_in_scope
from models import Brand, ContactType, DraftKind, EmailDraft, Pipeline, utcnow

router = APIRouter(prefix="/composer")


def _targets(session: Session, operator: Operator) -> list[tuple[str, str]]:
    """(value "brand/pipeline" slugs, label) for every pipeline of the user's brands."""
    rows = session.exec(
        select(Brand.slug, Pipeline.slug, Brand.name, Pipeline.name)
        .join(Pipeline, col(Pipeline.brand_id) == col(Brand.id))
        .where(operator.scope.condition(Brand.id))
        .order_by(col(Brand.slug), col(Pipeline.name))
    ).all()
    return [(f"{b}/{p}", f"{bn} · {pn}") for b, p, bn, pn in rows]


def _draft(session: Session, operator: Operator, draft_id: int) -> EmailDraft:
    draft = recipients.get_draft(session, draft_id)
    if draft.kind != DraftKind.composer or not operator.scope.allows(draft.brand_id):
        raise NotFound(f"Draft {draft_id} not found")
    return draft


@router.get("/")
def composer_page(
    request: Request,
    operator: OperatorDep,
    session: SessionDep,
    target: Annotated[str, Query(max_length=200)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """`target` and `q` find the brand's contacts to tick as recipients."""
    drafts = session.exec(
        select(EmailDraft)
        .where(
            EmailDraft.kind == DraftKind.composer,
            operator.scope.condition(EmailDraft.brand_id),
        )
        .order_by(col(EmailDraft.created_at).desc())
        .limit(20)
    ).all()
    context = {
        "targets": _targets(session, operator),
        "types": rules.EMAIL_TYPES,
        "tones": rules.TONES,
        "drafts": drafts,
        "target": target,
        "q": q,
        "found": found_contacts(session, operator, target, q),
        "filters": filters_for(session, operator),
        "contact_types": list(ContactType),
        "brands": brands_in_scope(session, operator.scope),
    }
    return render(request, "composer.html", context)


@router.post("/")
async def create(
    operator: OperatorDep,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    ai: AIDep,
    renderer: RendererDep,
    target: Annotated[str, Form(max_length=200)],
    email_type: Annotated[str, Form(max_length=50)],
    tone: Annotated[str, Form(max_length=50)],
    addresses: Annotated[str, Form(max_length=200_000)] = "",
    contact_ids: Annotated[list[int] | None, Form()] = None,
    filter_id: Annotated[int | None, Form(ge=1)] = None,
    instructions: Annotated[str, Form(max_length=2000)] = "",
    by_hand: Annotated[bool, Form()] = False,
    subject: Annotated[str, Form(max_length=300)] = "",
    body: Annotated[str, Form(max_length=50_000)] = "",
    one_off: Annotated[bool, Form()] = False,
) -> Response:
    allowed = {value for value, _label in _targets(uow.session, operator)}
    try:
        if target not in allowed:
            raise NotFound("Choose one of your pipelines")
        brand, pipeline = target.split("/", 1)
        data = DraftCreate(
            brand=brand,
            pipeline=pipeline,
            email_type=email_type,
            tone=tone,
            addresses=addresses,
            contact_ids=contact_ids or [],
            filter=chosen_filter(uow.session, operator, filter_id, brand),
            instructions=instructions,
            ai=not by_hand,
            subject=subject,
            body=body,
            one_off=one_off,
        )
        plan = await run_in_threadpool(service.plan_draft, uow.session, data)
        composed = await service.compose(ai, plan, data) if data.ai else None
        draft = await run_in_threadpool(
            service.store_draft, uow.session, renderer, plan, data, composed
        )
    except ValidationError as exc:
        cookie.flash("Not drafted: " + "; ".join(str(e["msg"]) for e in exc.errors()), "error")
        return RedirectResponse("/console/composer/", status_code=303)
    except DealpilotError as exc:
        cookie.flash(f"Not drafted: {exc.message}", "error")
        return RedirectResponse("/console/composer/", status_code=303)
    cookie.flash(f"Draft {draft.id} is ready: read it, edit it, then send it.", "success")
    return RedirectResponse(f"/console/composer/{draft.id}", status_code=303)


@router.get("/{draft_id}")
def draft_page(
    request: Request,
    draft_id: IdPath,
    operator: OperatorDep,
    session: SessionDep,
    renderer: RendererDep,
    settings: SettingsDep,
    to: Annotated[str, Query(max_length=320)] = "",
) -> Response:
    """The draft, and the email as `to` (one of its recipients) will see it."""
    draft = _draft(session, operator, draft_id)
    preview, problem = None, ""
    try:
        ctx = service.preview_context(
            session, draft, PreviewRequest(email=to or None), base_url=settings.public_base_url
        )
        preview = service.render_preview(renderer, draft, ctx)
    except DealpilotError as exc:
        problem = exc.message
    context = {"draft": service.to_public(draft), "preview": preview, "problem": problem}
    return render(request, "draft.html", context)


@router.post("/{draft_id}/save")
def save(
    draft_id: IdPath,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    renderer: RendererDep,
    subject: Annotated[str, Form(max_length=300)],
    body: Annotated[str, Form(max_length=50_000)],
    addresses: Annotated[str, Form(max_length=200_000)],
) -> Response:
    _draft(session, operator, draft_id)
    try:
        data = DraftUpdate(subject=subject, body=body, addresses=addresses)
        service.update_draft(session, renderer, draft_id, data)
    except DealpilotError as exc:
        session.rollback()
        cookie.flash(f"Not saved: {exc.message}", "error")
    else:
        cookie.flash("Saved. The preview shows the new text.", "success")
    return RedirectResponse(f"/console/composer/{draft_id}", status_code=303)


@router.post("/{draft_id}/send")
async def send(
    draft_id: IdPath,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    transact: TransactDep,
    temporal: OptionalTemporalDep,
) -> Response:
    await run_in_threadpool(_draft, uow.session, operator, draft_id)
    await uow.commit_now()
    try:
        draft = await send_now(temporal, transact, draft_id)
    except DealpilotError as exc:
        cookie.flash(f"Not sent: {exc.message}", "error")
    else:
        started = len(draft.outcome.get("deals", []) or [])
        skipped = len(draft.outcome.get("skipped", []) or [])
        cookie.flash(
            f"Sent: {started} deals started, each sends its own copy; {skipped} skipped.",
            "success",
        )
    return RedirectResponse(f"/console/composer/{draft_id}", status_code=303)


@router.post("/{draft_id}/schedule")
def schedule(
    draft_id: IdPath,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    at: Annotated[datetime, Form()],
    timezone: Annotated[str, Form(max_length=64)] = rules.DEFAULT_TIMEZONE,
) -> Response:
    _draft(session, operator, draft_id)
    try:
        draft = service.schedule_draft(session, draft_id, at, timezone, now=utcnow())
    except DealpilotError as exc:
        session.rollback()
        cookie.flash(f"Not scheduled: {exc.message}", "error")
    else:
        shown = service.to_public(draft).scheduled_local
        cookie.flash(f"Scheduled for {shown} ({draft.timezone}).", "success")
    return RedirectResponse(f"/console/composer/{draft_id}", status_code=303)
