"""Product events from the brands' own applications, moving onboarding deals forward."""

from __future__ import annotations

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import OptionalTemporalDep, SessionDep, UnitOfWorkDep
from api.routing import CRMRouter
from dealpilot.leads import product_events as service
from dealpilot.leads.product_events import (
    DealLocks,
    EventOutcome,
    ProductEventIn,
    ProductEventResult,
)
from dealpilot.temporal.starting import start_after_commit
from models import utcnow

router = CRMRouter(prefix="/events", tags=["product events"])


def _locks(request: Request) -> DealLocks:
    locks: DealLocks | None = getattr(request.app.state, "product_event_locks", None)
    if locks is None:
        locks = request.app.state.product_event_locks = DealLocks()
    return locks


@router.post(
    "/product/",
    response_model=ProductEventResult,
    responses={201: {"model": ProductEventResult, "description": "A deal was enrolled"}},
)
async def product_event(
    request: Request,
    response: Response,
    data: ProductEventIn,
    session: SessionDep,
    uow: UnitOfWorkDep,
    temporal: OptionalTemporalDep,
) -> ProductEventResult:
    """Moves the contact's deals in the pipelines that progress on `event` to the event's
    stage, through each deal's workflow (`move_stage`), so stages that send on entry send:
    Agents & Agencies (`registered` ... `active_lister`); a sign-up (`business_registered`,
    `agent_registered`, `organizer_registered`) enrols its Registered Users pipeline and
    moves the directory deal inviting the contact to its signed-up stage, which ends the
    invitations; `business_listed`, `agent_profile_created`, `event_posted`,
    `first_listing`, `ad_posted` move the pipelines they finish. Forward only (the workflow
    itself refuses anything else) and idempotent: an event for the deal's current or an
    earlier stage is reported (`already_at_stage`, `stale_event`) and changes nothing.

    404 `unknown_contact`; 422 `validation_error` (unknown event), `unknown_brand`,
    `event_not_tracked`; from the workflow: 409 `no_workflow`, `deal_starting`, 503."""
    plan = await run_in_threadpool(service.plan, session, data)
    enrolled_ids = [deal.id for deal, _, _ in plan.enrolled if deal.id is not None]
    started = start_after_commit(uow, temporal, enrolled_ids)
    await uow.commit_now()

    occurred_at = data.occurred_at or utcnow()
    results = list(plan.done)
    for deal, pipeline, stage in plan.enrolled:
        results.append(
            EventOutcome(
                pipeline_id=pipeline.id or 0,
                pipeline_slug=pipeline.slug,
                outcome="enrolled",
                deal_id=deal.id,
                to_stage=stage.name,
                workflow_id=started.get(deal.id or 0),
            )
        )
    reason = f"product event {data.event.value} at {occurred_at:%Y-%m-%d %H:%M} UTC"
    results += await service.apply_moves(temporal, _locks(request), plan.moves, reason=reason)

    response.status_code = 201 if plan.enrolled else 200
    return ProductEventResult(
        event=data.event,
        contact_id=plan.contact_id,
        occurred_at=occurred_at,
        moved=sum(1 for r in results if r.outcome in ("moved", "enrolled")),
        results=results,
    )
