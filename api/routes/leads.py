"""Inbound leads from the brands' websites (chatbot conversations, contact form inquiries)."""

from __future__ import annotations

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from api.deps import OptionalTemporalDep, SessionDep, UnitOfWorkDep
from api.routing import CRMRouter
from dealpilot.leads import service
from dealpilot.leads.service import LeadIn, LeadResult
from dealpilot.temporal.starting import start_after_commit

router = CRMRouter(prefix="/leads", tags=["leads"])


@router.post(
    "/inbound/",
    response_model=LeadResult,
    status_code=201,
    responses={200: {"model": LeadResult, "description": "Nothing new: existing contact/deal"}},
)
async def inbound_lead(
    response: Response,
    data: LeadIn,
    session: SessionDep,
    uow: UnitOfWorkDep,
    temporal: OptionalTemporalDep,
) -> LeadResult:
    """A lead becomes a contact (get or create per brand and email; empty fields are filled,
    operator data is never overwritten) and a deal in the brand's sales pipeline (or
    `pipeline`), started after the commit like `POST /api/crm/deals/`; the contact's open
    deal there is reused instead of a second one. A lead wrote first, so its deal starts at
    the stage a person owns ("Responded"): no cold intro, no cold follow-ups. Its message goes
    to the deal as a reply: the AI drafts an answer that waits in the review queue for a
    person. An address the brand may not email (suppressed) gets the contact but no deal; a
    chatbot lead of a brand without a sales pipeline (and none named) only a contact.

    201 when a contact or deal was created, 200 when both already existed. 422
    `unknown_brand`, `unknown_pipeline`, `no_sales_pipeline`, `validation_error` (bad email)."""
    intake = await run_in_threadpool(service.take_lead, session, data)
    started: dict[int, str | None] = {}
    if intake.deal_created and intake.deal is not None and intake.deal.id is not None:
        started = start_after_commit(uow, temporal, [intake.deal.id])
    await uow.commit_now()
    await service.hand_message_to_deal(temporal, intake, data)
    response.status_code = 201 if intake.created_anything else 200
    workflow_id = next(iter(started.values()), None)
    return await run_in_threadpool(service.result, session, intake, workflow_id=workflow_id)
