"""What can go wrong while talking to a deal's workflow, mapped onto the core error family by
type (the ApplicationError `type` the workflow's validators raise, the RPC status code), never
by message text. Used by `DealWorkflows` only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from dealpilot.core.errors import Conflict, DealpilotError, ErrorDetail, ServiceUnavailable
from models import Deal, DealStatus

log = structlog.get_logger(__name__)

CLOSED = (DealStatus.won, DealStatus.lost)

# ApplicationError types raised by DealWorkflow's update validators and handlers.
_UPDATE_ERRORS: dict[str, tuple[int, str]] = {
    "InvalidStage": (422, "invalid_stage"),
    # move_stage with forward_only (product events): the deal is there already, or past it.
    "AlreadyAtStage": (409, "already_at_stage"),
    "NotForward": (409, "stale_event"),
    "InvalidInput": (422, "invalid_input"),
    "DealClosed": (409, "deal_closed"),
    "NotReady": (409, "deal_starting"),
    # send_now: why the next email cannot go now.
    "DealPaused": (409, "deal_paused"),
    "ReviewPending": (409, "review_pending"),
    "NoNextEmail": (409, "no_next_email"),
    # review_draft: the workflow no longer waits for this draft.
    "NoPendingReview": (409, "draft_not_pending"),
    "NotPendingReview": (409, "draft_not_pending"),
    "AlreadyReviewed": (409, "draft_not_pending"),
}


def no_workflow(deal: Deal) -> Conflict:
    return Conflict(
        f"Deal {deal.id} has no workflow yet; start it with POST /api/crm/deals/{deal.id}/start/",
        code="no_workflow",
    )


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
    """Maps what can go wrong while talking to `deal`'s workflow to the core errors."""
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
