"""The API's side of a deal's workflow: starting it after the commit, and reaching it with
updates, signals and queries. Failures become API errors by their type (the ApplicationError
`type` the workflow's validators raise, the RPC status code), never by message text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import Engine, bindparam, select, update
from sqlmodel import Session, col
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from dealpilot.core.errors import (
    Conflict,
    DealpilotError,
    ErrorDetail,
    ServiceUnavailable,
    Unprocessable,
)
from dealpilot.temporal.enrolment import DealStart, start_deal, workflow_id
from models import Brand, Contact, Deal, DealStatus, Pipeline, PipelineStage
from workflows.contracts import DealStateView
from workflows.deal import DealWorkflow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Temporal:
    """A Temporal client and the task queue deal workflows run on."""

    client: Client
    task_queue: str


def require_temporal(temporal: Temporal | None) -> Temporal:
    if temporal is None:
        raise ServiceUnavailable(
            "Temporal is not configured for this API; deal workflows cannot be reached",
            code="temporal_unavailable",
        )
    return temporal


START_CONCURRENCY = 50
START_TIMEOUT = timedelta(seconds=10)
CLOSED = (DealStatus.won, DealStatus.lost)

DealHandle = WorkflowHandle[DealWorkflow, DealStateView]


# ------------------------------------------------------------------------------- starting
def _start_infos(session: Session, deal_ids: Iterable[int]) -> list[DealStart]:
    ids = list(deal_ids)
    rows = session.execute(
        select(
            col(Deal.id),
            col(Brand.slug),
            col(Pipeline.name),
            col(PipelineStage.name),
            col(Contact.email),
            col(Contact.name),
        )
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .join(Pipeline, col(Pipeline.id) == col(Deal.pipeline_id))
        .join(Brand, col(Brand.id) == col(Pipeline.brand_id))
        .join(PipelineStage, col(PipelineStage.id) == col(Deal.stage_id))
        .where(col(Deal.id).in_(ids))
        .order_by(col(Deal.id))
    ).all()
    return [DealStart(*row) for row in rows]


def load_start_infos(engine: Engine, deal_ids: Iterable[int]) -> list[DealStart]:
    with Session(engine) as session:
        return _start_infos(session, deal_ids)


def record_workflow_ids(engine: Engine, started: dict[int, str]) -> None:
    """One statement for the lot (a bulk enrolment may start thousands)."""
    if not started:
        return
    stmt = (
        update(Deal)
        .where(col(Deal.id) == bindparam("deal_id"))
        .values(workflow_id=bindparam("wid"))
    )
    params = [{"deal_id": deal_id, "wid": wid} for deal_id, wid in started.items()]
    with Session(engine) as session, session.begin():
        session.connection().execute(stmt, params)


async def start_workflows(
    temporal: Temporal | None,
    infos: list[DealStart],
    *,
    concurrency: int = START_CONCURRENCY,
) -> dict[int, str | None]:
    """Starts each deal's workflow (idempotent: `deal-{id}`, USE_EXISTING), at most
    `concurrency` at once so a bulk enrolment does not hit the cluster as one burst.
    Returns the workflow id per deal, None where the start failed (the deal row stays; the
    start is retried with `POST /api/crm/deals/{id}/start/`)."""
    if temporal is None:
        log.warning("workflow_start_skipped", reason="temporal_not_configured", deals=len(infos))
        return {info.deal_id: None for info in infos}
    gate = asyncio.Semaphore(concurrency)

    async def one(info: DealStart) -> tuple[int, str | None]:
        async with gate:
            try:
                await asyncio.wait_for(
                    start_deal(temporal.client, temporal.task_queue, info),
                    START_TIMEOUT.total_seconds(),
                )
            except Exception as exc:  # any failure: the committed deal must survive it
                log.warning(
                    "workflow_start_failed", deal_id=info.deal_id, error_type=type(exc).__name__
                )
                return info.deal_id, None
            return info.deal_id, workflow_id(info.deal_id)

    results = await asyncio.gather(*(one(info) for info in infos))
    return dict(results)


async def start_and_record(
    temporal: Temporal | None, engine: Engine, deal_ids: Iterable[int]
) -> dict[int, str | None]:
    infos = await asyncio.to_thread(load_start_infos, engine, deal_ids)
    started = await start_workflows(temporal, infos)
    ok = {deal_id: wid for deal_id, wid in started.items() if wid is not None}
    await asyncio.to_thread(record_workflow_ids, engine, ok)
    log.info("workflows_started", started=len(ok), failed=len(started) - len(ok))
    return started


# ------------------------------------------------------------------------- reaching one
def handle_for(temporal: Temporal, deal: Deal) -> DealHandle:
    """The deal's workflow, or 409 `no_workflow` when it was never started."""
    if deal.workflow_id is None:
        raise Conflict(
            f"Deal {deal.id} has no workflow yet; "
            f"start it with POST /api/crm/deals/{deal.id}/start/",
            code="no_workflow",
        )
    return temporal.client.get_workflow_handle_for(DealWorkflow.run, deal.workflow_id)


# ApplicationError types raised by DealWorkflow's update validators and handlers.
_UPDATE_ERRORS: dict[str, tuple[int, str]] = {
    "InvalidStage": (422, "invalid_stage"),
    "InvalidInput": (422, "invalid_input"),
    "DealClosed": (409, "deal_closed"),
    "NotReady": (409, "deal_starting"),
}


def _closed_or_missing(deal: Deal) -> DealpilotError:
    if deal.status in CLOSED:
        return Conflict(f"Deal {deal.id} is already {deal.status}", code="deal_closed")
    return Conflict(
        f"Deal {deal.id} has no running workflow; restart it with "
        f"POST /api/crm/deals/{deal.id}/start/",
        code="no_workflow",
    )


@asynccontextmanager
async def reaching(deal: Deal, *, field: str | None = None) -> AsyncIterator[None]:
    """Maps what can go wrong while talking to `deal`'s workflow to the API's errors."""
    try:
        yield
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type in _UPDATE_ERRORS:
            status, code = _UPDATE_ERRORS[cause.type]
            details = [ErrorDetail(field=field, problem=cause.message)] if field else None
            raise DealpilotError(
                cause.message, code=code, status_code=status, details=details
            ) from exc
        log.warning("workflow_update_failed", deal_id=deal.id, cause=type(cause).__name__)
        raise DealpilotError(
            "The deal's workflow could not apply the change", code="workflow_error", status_code=502
        ) from exc
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as exc:
        # The workflow has not loaded its state yet (its first task is still running).
        raise Conflict("The deal is still starting; try again", code="deal_starting") from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise DealpilotError(
            "The deal's workflow did not answer in time; the change may still be applied",
            code="workflow_timeout",
            status_code=504,
        ) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _closed_or_missing(deal) from exc
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise ServiceUnavailable(
                "Temporal is unreachable; try again", code="temporal_unavailable"
            ) from exc
        log.warning("temporal_rpc_error", deal_id=deal.id, status=exc.status.name)
        raise DealpilotError(
            "Temporal refused the request", code="temporal_error", status_code=502
        ) from exc


def invalid_body(message: str, field: str) -> Unprocessable:
    return Unprocessable(
        message, code="validation_error", details=[ErrorDetail(field=field, problem=message)]
    )
