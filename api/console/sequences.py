"""Email sequences in the console (admins): build one (steps with a wait in days, a subject and
a body), make it a pipeline's default, edit or delete it. The same domain functions as
`/api/crm/email-sequences/` (dealpilot.deals.sequences): the same sandbox checks, and running
deals keep the steps they started with. Enrolment with a chosen sequence is on a contact's page
(api/console/enrolment.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.responses import RedirectResponse, Response

from api.console.deps import AdminDep, SessionCookieDep, render
from api.deps import IdPath, RendererDep, SessionDep
from dealpilot.core.errors import DealpilotError
from dealpilot.deals import sequences
from dealpilot.deals.lookup import get_or_404
from dealpilot.deals.sequences import SequenceCreate, SequenceUpdate, StepWrite
from models import EmailSequence, Pipeline

router = APIRouter(prefix="/settings/sequences")
HOME = "/console/settings/sequences/"
BLANK_ROWS = 3  # empty step rows offered after a sequence's own
Texts = Annotated[list[str] | None, Form()]


def _steps(delays: list[str], subjects: list[str], bodies: list[str]) -> list[StepWrite]:
    """The form's step rows, in order; a row without a subject and body is left out."""
    rows = []
    for delay, subject, body in zip(delays, subjects, bodies, strict=False):
        if not subject.strip() and not body.strip():
            continue
        rows.append(
            StepWrite(delay_days=int(delay or 0), subject_template=subject, body_template=body)
        )
    return rows


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, DealpilotError):
        return exc.message
    return "a wait must be a whole number of days"


def _pipelines(session: Session) -> list[Pipeline]:
    return list(session.exec(select(Pipeline).order_by(col(Pipeline.brand_id), col(Pipeline.name))))


@router.get("/")
def sequences_page(request: Request, admin: AdminDep, session: SessionDep) -> Response:
    rows = sequences.public(session, sequences.list_sequences(session))
    names = {p.id: p.name for p in _pipelines(session)}
    context = {"sequences": rows, "pipelines": _pipelines(session), "names": names}
    context["blank"] = BLANK_ROWS
    return render(request, "sequences.html", context)


@router.post("/")
def create(
    admin: AdminDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    renderer: RendererDep,
    pipeline_id: Annotated[int, Form()],
    name: Annotated[str, Form(max_length=200)],
    description: Annotated[str, Form(max_length=2000)] = "",
    is_default: Annotated[bool, Form()] = False,
    delay_days: Texts = None,
    subject: Texts = None,
    body: Texts = None,
) -> Response:
    try:
        data = SequenceCreate(
            pipeline_id=pipeline_id,
            name=name,
            description=description,
            is_default=is_default,
            steps=_steps(delay_days or [], subject or [], body or []),
        )
        sequence = sequences.create(session, renderer, data)
    except (ValidationError, DealpilotError, ValueError) as exc:
        session.rollback()
        cookie.flash(f"No sequence was created: {_problem(exc)}", "error")
        return RedirectResponse(HOME, status_code=303)
    cookie.flash(f"Sequence {sequence.name!r} is saved.", "success")
    return RedirectResponse(f"{HOME}{sequence.id}", status_code=303)


@router.get("/{sequence_id}")
def sequence_page(
    request: Request, sequence_id: IdPath, admin: AdminDep, session: SessionDep
) -> Response:
    row = get_or_404(session, EmailSequence, sequence_id, what="Email sequence")
    shown = sequences.public(session, [row])[0]
    pipeline = session.get(Pipeline, row.pipeline_id)
    context = {"sequence": shown, "pipeline": pipeline, "blank": BLANK_ROWS}
    return render(request, "sequence.html", context)


@router.post("/{sequence_id}")
def change(
    sequence_id: IdPath,
    admin: AdminDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    renderer: RendererDep,
    name: Annotated[str, Form(max_length=200)],
    description: Annotated[str, Form(max_length=2000)] = "",
    is_default: Annotated[bool, Form()] = False,
    is_active: Annotated[bool, Form()] = False,
    delay_days: Texts = None,
    subject: Texts = None,
    body: Texts = None,
) -> Response:
    try:
        data = SequenceUpdate(
            name=name,
            description=description,
            is_default=is_default,
            is_active=is_active,
            steps=_steps(delay_days or [], subject or [], body or []),
        )
        sequences.update(session, renderer, sequence_id, data)
    except (ValidationError, DealpilotError, ValueError) as exc:
        session.rollback()
        cookie.flash(f"Not saved: {_problem(exc)}", "error")
    else:
        cookie.flash("Saved: new deals follow these steps; running deals keep theirs.", "success")
    return RedirectResponse(f"{HOME}{sequence_id}", status_code=303)


@router.post("/{sequence_id}/delete")
def remove(
    sequence_id: IdPath, admin: AdminDep, cookie: SessionCookieDep, session: SessionDep
) -> Response:
    sequences.delete(session, sequence_id)
    cookie.flash("The sequence is deleted; running deals keep their steps.", "success")
    return RedirectResponse(HOME, status_code=303)
