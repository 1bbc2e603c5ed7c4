"""Enrolling a contact in a pipeline from its page, with the email sequence to follow (the
pipeline's default unless another is chosen): the same `create_deal` as `POST /api/crm/deals/`,
its workflow started after the commit with the sequence's steps snapshotted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.console.deps import OperatorDep, SessionCookieDep
from api.deps import IdPath, OptionalTemporalDep, UnitOfWorkDep
from dealpilot.core.errors import DealpilotError, NotFound
from dealpilot.deals.service import create_deal
from dealpilot.temporal.starting import start_after_commit
from models import Contact
from models.deal import DealCreate

router = APIRouter()


@router.post("/contacts/{contact_id}/enrol")
async def enrol(
    contact_id: IdPath,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    temporal: OptionalTemporalDep,
    pipeline_id: Annotated[int, Form()],
    sequence_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    page = f"/console/contacts/{contact_id}"
    contact = await run_in_threadpool(uow.session.get, Contact, contact_id)
    if contact is None or not operator.scope.allows(contact.brand_id):
        raise NotFound(f"Contact {contact_id} not found")
    chosen = int(sequence_id) if sequence_id.strip().isdigit() else None
    data = DealCreate(contact_id=contact_id, pipeline_id=pipeline_id, sequence_id=chosen)
    try:
        deal = await run_in_threadpool(create_deal, uow.session, data)
    except DealpilotError as exc:
        uow.session.rollback()
        cookie.flash(f"Not enrolled: {exc.message}", "error")
        return RedirectResponse(page, status_code=303)
    assert deal.id is not None
    started = start_after_commit(uow, temporal, [deal.id])
    await uow.commit_now()
    if started.get(deal.id):
        cookie.flash(f"Enrolled: deal {deal.id} is running.", "success")
    else:
        cookie.flash(f"Deal {deal.id} is saved, but Temporal did not start it yet.", "error")
    return RedirectResponse(f"/console/deals/{deal.id}", status_code=303)
