"""Contacts and the suppression list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from sqlmodel import col, select
from starlette.responses import RedirectResponse, Response

from api.console.deps import OperatorDep, SessionCookieDep, render
from api.deps import IdPath, SessionDep
from dealpilot.contacts.suppressions import add_suppression, remove_suppression
from dealpilot.core.errors import Conflict, DealpilotError, NotFound
from dealpilot.desk.contacts import (
    brands_in_scope,
    contact_list,
    contact_view,
    suppression_list,
)
from models import EmailSequence, Pipeline, Suppression, SuppressionReason
from models.contact import SuppressionCreate
from models.pagination import PageParams

router = APIRouter()
PAGE = 50
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


@router.get("/contacts")
def contacts_page(
    request: Request,
    operator: OperatorDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    brand: Annotated[str, Query(max_length=64)] = "",
    offset: Offset = 0,
) -> Response:
    page = contact_list(
        session, operator.scope, PageParams(limit=PAGE, offset=offset), search=q, brand=brand
    )
    context = {
        "page": page,
        "q": q,
        "brand": brand,
        "brands": brands_in_scope(session, operator.scope),
        "per_page": PAGE,
    }
    return render(request, "contacts.html", context)


@router.get("/contacts/{contact_id}")
def contact_page(
    request: Request, contact_id: IdPath, operator: OperatorDep, session: SessionDep
) -> Response:
    view = contact_view(session, operator.scope, contact_id)
    pipelines = session.exec(
        select(Pipeline)
        .where(Pipeline.brand_id == view.contact.brand_id, col(Pipeline.is_active).is_(True))
        .order_by(col(Pipeline.name))
    ).all()
    chosen = session.exec(
        select(EmailSequence)
        .where(
            col(EmailSequence.pipeline_id).in_([p.id for p in pipelines]),
            col(EmailSequence.is_active).is_(True),
        )
        .order_by(col(EmailSequence.name))
    ).all()
    names = {p.id: p.name for p in pipelines}
    context = {"view": view, "pipelines": pipelines, "sequences": chosen, "names": names}
    return render(request, "contact.html", context)


@router.get("/suppressions")
def suppressions_page(
    request: Request,
    operator: OperatorDep,
    session: SessionDep,
    brand: Annotated[str, Query(max_length=64)] = "",
    offset: Offset = 0,
) -> Response:
    page = suppression_list(
        session, operator.scope, PageParams(limit=PAGE, offset=offset), brand=brand
    )
    context = {
        "page": page,
        "brand": brand,
        "brands": brands_in_scope(session, operator.scope),
        "per_page": PAGE,
    }
    return render(request, "suppressions.html", context)


@router.post("/suppressions")
def suppress(
    operator: OperatorDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    brand: Annotated[str, Form(max_length=64)],
    email: Annotated[str, Form(max_length=320)],
    detail: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """A manual suppression, for one brand (one of the user's)."""
    allowed = {b.slug: b for b in brands_in_scope(session, operator.scope)}
    try:
        if brand not in allowed:
            raise NotFound(f"Brand {brand} not found")
        data = SuppressionCreate(
            brand_id=allowed[brand].id or 0,
            email=email,
            reason=SuppressionReason.manual,
            detail=detail,
        )
        row = add_suppression(session, data)
    except ValidationError:
        cookie.flash(f"{email!r} is not an email address.", "error")
    except DealpilotError as exc:
        cookie.flash(f"Not suppressed: {exc.message}", "error")
    else:
        cookie.flash(f"{row.email} is suppressed for {brand}: it is never emailed.", "success")
    return RedirectResponse("/console/suppressions", status_code=303)


@router.post("/suppressions/{suppression_id}/remove")
def unsuppress(
    suppression_id: IdPath, operator: OperatorDep, cookie: SessionCookieDep, session: SessionDep
) -> Response:
    """Only manual suppressions: an unsubscribe, a bounce or a complaint is the contact's
    own word (or their server's) and stays."""
    row = session.get(Suppression, suppression_id)
    if row is None or not operator.scope.allows(row.brand_id):
        raise NotFound(f"Suppression {suppression_id} not found")
    if row.reason != SuppressionReason.manual:
        raise Conflict(
            f"{row.email} is suppressed because of a {row.reason}: that is not undone here",
            code="not_manual",
        )
    remove_suppression(session, suppression_id)
    cookie.flash(f"{row.email} may be emailed again.", "success")
    return RedirectResponse("/console/suppressions", status_code=303)
