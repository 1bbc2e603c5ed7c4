"""Deals: list, create (one or in bulk), read, PATCH, and (re)starting a deal's workflow.
The actions that go through the workflow are in `api.routes.deal_actions`."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Query, Response
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from api.deps import (
    IdPath,
    IdQuery,
    OptionalTemporalDep,
    PageDep,
    SessionDep,
    TemporalDep,
    TransactDep,
    UnitOfWorkDep,
)
from api.routes.deal_actions import load_deal
from api.routing import CRMRouter
from dealpilot.accounts import BrandScope
from dealpilot.core.errors import Conflict, ServiceUnavailable
from dealpilot.deals import actions, service
from dealpilot.deals import bulk as bulk_service
from dealpilot.deals.lookup import resolve_brand_id
from dealpilot.deals.schemas import BulkCreated, BulkEnrolRequest, BulkEnrolResult
from dealpilot.deals.updates import sent_fields
from dealpilot.desk.owners import set_owner
from dealpilot.temporal.deals import require_workflows
from dealpilot.temporal.starting import start_after_commit, start_and_record
from models import Deal, DealStatus, EngagementTier, Pipeline
from models.deal import DealCreate, DealPublic, DealUpdate
from models.pagination import Keyset, Page, paginate
from workflows.contracts import MoveStageRequest

log = structlog.get_logger(__name__)

router = CRMRouter(prefix="/deals", tags=["deals"])


@router.get("/", response_model=Page[DealPublic])
def list_deals(
    session: SessionDep,
    page: PageDep,
    pipeline: IdQuery = None,
    stage: IdQuery = None,
    status: DealStatus | None = None,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    tier: Annotated[EngagementTier | None, Query(description="Engagement tier")] = None,
    contact: IdQuery = None,
    has_workflow: Annotated[
        bool | None,
        Query(description="false: deals whose workflow has not started (retry with .../start/)"),
    ] = None,
) -> Page[DealPublic]:
    # The filters are on the deal (and its pipeline's brand): the count needs none of the
    # joins that name the contact, pipeline and stage on a page.
    filters = []
    brand_id = resolve_brand_id(session, brand)
    if brand_id is not None:
        filters.append(col(Pipeline.brand_id) == brand_id)
    if pipeline is not None:
        filters.append(col(Deal.pipeline_id) == pipeline)
    if stage is not None:
        filters.append(col(Deal.stage_id) == stage)
    if status is not None:
        filters.append(col(Deal.status) == status)
    if tier is not None:
        filters.append(col(Deal.engagement_tier) == tier)
    if contact is not None:
        filters.append(col(Deal.contact_id) == contact)
    if has_workflow is not None:
        wid = col(Deal.workflow_id)
        filters.append(wid.is_not(None) if has_workflow else wid.is_(None))
    stmt = service.deal_rows().where(*filters)
    stmt = stmt.order_by(col(Deal.created_at).desc(), col(Deal.id).desc())
    counted = select(col(Deal.id)).where(*filters)
    if brand_id is not None:
        counted = counted.join(Pipeline, col(Pipeline.id) == col(Deal.pipeline_id))
    return paginate(session, stmt, page, service.to_public, counted=counted, keyset=Keyset(Deal))


@router.post("/", response_model=DealPublic, status_code=201)
async def create_deal(
    data: DealCreate, session: SessionDep, uow: UnitOfWorkDep, temporal: OptionalTemporalDep
) -> DealPublic:
    """Creates the deal, commits, then starts its workflow (`deal-{id}`). If Temporal cannot
    be reached the deal is still created, with `workflow_id` null: start it later with
    `POST /api/crm/deals/{id}/start/`."""
    deal = await run_in_threadpool(service.create_deal, session, data)
    deal_id = deal.id
    assert deal_id is not None
    log.info("deal_created", deal_id=deal_id)
    start_after_commit(uow, temporal, [deal_id])
    await uow.commit_now()
    return await actions.reread(session, deal_id)


@router.post("/bulk/", response_model=BulkEnrolResult)
async def bulk_enrol(
    response: Response,
    data: BulkEnrolRequest,
    session: SessionDep,
    uow: UnitOfWorkDep,
    temporal: OptionalTemporalDep,
) -> BulkEnrolResult:
    """Enrols up to 5,000 contacts in one pipeline: all deals in one transaction (contacts
    that cannot be enrolled are skipped with a reason), then their workflows start after the
    commit, at most 50 at a time, a start that timed out tried again (`deal-{id}`: a repeat is
    harmless); a deal whose workflow did not start has `workflow_id` null (retry it with
    `POST /api/crm/deals/{id}/start/`). 201 when any deal was created."""
    deals, contacts, skipped = await run_in_threadpool(bulk_service.enrol, session, data)
    started = start_after_commit(uow, temporal, [d.id for d in deals if d.id is not None])
    await uow.commit_now()
    created = [
        BulkCreated(
            deal_id=d.id or 0,
            contact_id=c.id or 0,
            email=c.email,
            workflow_id=started.get(d.id or 0),
        )
        for d, c in zip(deals, contacts, strict=True)
    ]
    ok = sum(1 for c in created if c.workflow_id is not None)
    response.status_code = 201 if created else 200
    return BulkEnrolResult(
        pipeline_id=data.pipeline_id,
        created=created,
        skipped=skipped,
        workflows_started=ok,
        workflows_not_started=len(created) - ok,
    )


@router.get("/{deal_id}/", response_model=DealPublic)
def get_deal(deal_id: IdPath, session: SessionDep) -> DealPublic:
    return service.get_deal_public(session, deal_id)


@router.patch(
    "/{deal_id}/",
    response_model=DealPublic,
    responses={202: {"model": DealPublic, "description": "Pause/resume not applied yet"}},
)
async def update_deal(
    deal_id: IdPath,
    data: DealUpdate,
    uow: UnitOfWorkDep,
    session: SessionDep,
    transact: TransactDep,
    temporal: OptionalTemporalDep,
    response: Response,
) -> DealPublic:
    """`value`, `ai_notes`, `lost_reason` and `owner_id` (a console user who may see the
    deal's brand, or null) are written directly. `stage_id` and `status`
    go through the deal's workflow: a stage move (`move_stage`), won (`mark_won`), lost
    (`mark_lost`, with `lost_reason`), paused (`pause` signal), active (`resume` signal).
    202: a pause/resume was delivered but not applied within a few seconds."""
    deal = await load_deal(uow, deal_id)
    changes = sent_fields(data, nullable={"value", "owner_id"})
    stage_id: int | None = changes.get("stage_id")
    status: DealStatus | None = changes.get("status")
    closed = deal.status in (DealStatus.won, DealStatus.lost)
    if closed and (stage_id not in (None, deal.stage_id) or status not in (None, deal.status)):
        # Its workflow has finished: a closed deal is not reopened (create a new deal instead).
        raise Conflict(f"Deal {deal_id} is already {deal.status}", code="deal_closed")
    if stage_id is not None and stage_id != deal.stage_id:
        req = MoveStageRequest(stage_id=stage_id, reason="", actor="api")
        await require_workflows(temporal).move_stage(deal, req)
        deal = await load_deal(uow, deal_id)
    if status is not None and status != deal.status:
        running = require_workflows(temporal)
        if status in (DealStatus.won, DealStatus.lost):
            reason = changes.pop("lost_reason", "") if status == DealStatus.lost else ""
            await running.close(deal, won=status == DealStatus.won, reason=reason)
        elif not await actions.pause_or_resume(
            running, transact, deal, pause=status == DealStatus.paused
        ):
            response.status_code = 202
    if "owner_id" in changes:
        owner_id = changes.pop("owner_id")
        await run_in_threadpool(set_owner, session, BrandScope.everything(), deal_id, owner_id)
    own = {k: v for k, v in changes.items() if k in service.DB_ONLY_FIELDS}
    if own:
        await run_in_threadpool(service.update_fields, session, deal_id, own)
    return await actions.reread(session, deal_id)


@router.post(
    "/{deal_id}/start/",
    response_model=DealPublic,
    responses={503: {"description": "Temporal unavailable or the start failed"}},
)
async def start_workflow(
    deal_id: IdPath,
    uow: UnitOfWorkDep,
    session: SessionDep,
    transact: TransactDep,
    temporal: TemporalDep,
) -> DealPublic:
    """Starts the deal's workflow if it is not running (idempotent): the retry for a deal
    created while Temporal was down (`workflow_id` null)."""
    deal = await load_deal(uow, deal_id)
    if deal.status in (DealStatus.won, DealStatus.lost):
        raise Conflict(f"Deal {deal_id} is {deal.status}: nothing to run", code="deal_closed")
    started = await start_and_record(temporal, transact, [deal_id])
    if started.get(deal_id) is None:
        raise ServiceUnavailable(
            "The workflow could not be started; try again", code="temporal_unavailable"
        )
    return await actions.reread(session, deal_id)
