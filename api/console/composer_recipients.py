"""The composer's recipients beyond pasted addresses: the brand's contacts found by search,
and saved filters (`dealpilot.composer.saved_filters`) saved once and reused; and the draft's
live preview, the unsaved subject and body rendered as a chosen recipient will see them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from pydantic import ValidationError
from sqlmodel import Session
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.console.deps import Operator, OperatorDep, SessionCookieDep
from api.deps import IdPath, RendererDep, SessionDep, SettingsDep
from dealpilot.composer import recipients, saved_filters, service
from dealpilot.composer.rules import RecipientFilter
from dealpilot.composer.schemas import PreviewRequest
from dealpilot.core.errors import DealpilotError, NotFound
from dealpilot.desk.contacts import brands_in_scope
from dealpilot.rendering.renderer import TemplateRenderError
from dealpilot.rendering.stage_email import render_draft_email
from models import Contact, SavedFilter

router = APIRouter(prefix="/composer")
HOME = "/console/composer/"


def found_contacts(session: Session, operator: Operator, target: str, q: str) -> list[Contact]:
    """The target brand's contacts matching `q` (name, email, company), newest 20."""
    if not q.strip() or "/" not in target:
        return []
    slug = target.split("/", 1)[0]
    brand = next((b for b in brands_in_scope(session, operator.scope) if b.slug == slug), None)
    if brand is None or brand.id is None:
        return []
    return recipients.search_contacts(session, brand.id, q)


def filters_for(session: Session, operator: Operator) -> list[SavedFilter]:
    return saved_filters.list_filters(session, operator.user_id, operator.scope)


def chosen_filter(
    session: Session, operator: Operator, filter_id: int | None, brand_slug: str
) -> RecipientFilter | None:
    """The saved filter chosen for a draft of `brand_slug`: the user's own, of that brand."""
    if filter_id is None:
        return None
    row = saved_filters.get_filter(session, operator.user_id, operator.scope, filter_id)
    brands = {b.id: b.slug for b in brands_in_scope(session, operator.scope)}
    if brands.get(row.brand_id) != brand_slug:
        raise NotFound(f"Saved filter {filter_id} is not one of {brand_slug}'s")
    return saved_filters.criteria(row)


@router.post("/filters")
def save_filter(
    operator: OperatorDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    brand: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=100)],
    q: Annotated[str, Form(max_length=200)] = "",
    contact_type: Annotated[str, Form(max_length=30)] = "",
    tags: Annotated[str, Form(max_length=1000)] = "",
    source: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    row = next((b for b in brands_in_scope(session, operator.scope) if b.slug == brand), None)
    if row is None or row.id is None:
        raise NotFound(f"Brand {brand} not found")
    try:
        filt = RecipientFilter(
            q=q or None,
            contact_type=contact_type or None,
            tags=[t for t in tags.split(",") if t.strip()],
            source=source or None,
        )
        saved = saved_filters.save_filter(session, operator.user_id, row.id, name, filt)
    except ValidationError as exc:
        cookie.flash("Not saved: " + "; ".join(str(e["msg"]) for e in exc.errors()), "error")
    except DealpilotError as exc:
        session.rollback()
        cookie.flash(f"Not saved: {exc.message}", "error")
    else:
        cookie.flash(f"Filter {saved.name!r} is saved: choose it for the next email.", "success")
    return RedirectResponse(HOME, status_code=303)


@router.post("/filters/{filter_id}/delete")
def delete_filter(
    filter_id: IdPath, operator: OperatorDep, cookie: SessionCookieDep, session: SessionDep
) -> Response:
    name = saved_filters.delete_filter(session, operator.user_id, operator.scope, filter_id)
    cookie.flash(f"Filter {name!r} is deleted (drafts that used it keep their copy).", "success")
    return RedirectResponse(HOME, status_code=303)


@router.post("/{draft_id}/preview")
def live_preview(
    draft_id: IdPath,
    operator: OperatorDep,
    session: SessionDep,
    renderer: RendererDep,
    settings: SettingsDep,
    subject: Annotated[str, Form(max_length=300)],
    body: Annotated[str, Form(max_length=50_000)],
    to: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """The unsaved text as `to` (one of the draft's recipients, else the first) will see it,
    as JSON for the page's script. Stores nothing."""
    draft = recipients.get_draft(session, draft_id)
    if not operator.scope.allows(draft.brand_id):
        raise NotFound(f"Draft {draft_id} not found")
    try:
        ctx = service.preview_context(
            session, draft, PreviewRequest(email=to or None), base_url=settings.public_base_url
        )
        email = render_draft_email(renderer, subject, body, ctx)
    except TemplateRenderError as exc:
        return JSONResponse({"ok": False, "problem": str(exc)}, status_code=422)
    except DealpilotError as exc:
        return JSONResponse({"ok": False, "problem": exc.message}, status_code=exc.status_code)
    return JSONResponse(
        {"ok": True, "to": ctx.contact.email, "subject": email.subject, "text": email.text}
    )
