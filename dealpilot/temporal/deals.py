"""The one client for deal workflows: start, update, signal and query `deal-{id}`, with the
error mapping onto `dealpilot.core.errors`. The API, the domain, the CLI and the demo all talk
to deal workflows through `DealWorkflows`; nothing else builds a handle.

Starting after a commit (the workflow must never see a row that was rolled back) is
`dealpilot.temporal.starting.start_after_commit`, which queues `DealWorkflows.start_many` on
the unit of work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from dealpilot.core.errors import ServiceUnavailable
from dealpilot.temporal.reaching import no_workflow, reaching
from models import Deal
from workflows import search_attributes as sa
from workflows.contracts import (
    CloseRequest,
    DealStateView,
    MoveStageRequest,
    NextActionRequest,
    ReviewDecision,
    SendNowRequest,
    SendNowResult,
    SendReplyRequest,
    SequencePlan,
    TimelineEntry,
)
from workflows.deal import DealWorkflow
from workflows.deal_memory import DealInput

log = structlog.get_logger(__name__)

START_CONCURRENCY = 50
START_TIMEOUT = timedelta(seconds=10)
# A start that timed out or met a busy server is tried again (a repeat is harmless: `deal-{id}`
# with USE_EXISTING), after 0.5 s, then 1 s.
START_ATTEMPTS = 3
START_RETRY_AFTER = 0.5
_TRANSIENT = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.CANCELLED,
}
# A long run logs `workflows_starting` (done, failed, rate) every this many starts.
PROGRESS_EVERY = 1000

DealHandle = WorkflowHandle[DealWorkflow, DealStateView]
# A signal of DealWorkflow taking one argument (reply_received, bounced, email_opened...).
DealSignal = Callable[[DealWorkflow, Any], None]


def workflow_id(deal_id: int) -> str:
    return f"deal-{deal_id}"


@dataclass(frozen=True)
class DealStart:
    """What starting a deal's workflow needs; the deal's rows are already committed.

    `draft_id` (composer): an EmailDraft of the deal's brand whose `subject` and `body` are
    sent as the deal's first email instead of the first stage email, at once (no AI "wait"
    decision; still inside the brand's send window, daily cap, gap and suppression), and
    never held for human review (a person wrote it). Subject and body are sandboxed template
    strings rendered for the deal's contact (`{{ contact.first_name }}`, `{{ brand.name }}`
    ... as in stage templates). A body that is not a whole HTML document is the message text:
    it goes into the brand layout, which adds the greeting, sign-off and unsubscribe footer.
    The draft row is only read (its status is the composer's business, but a `rejected` draft
    is never sent). Follow-ups afterwards are the pipeline's normal stage emails, except
    with `one_off` (a one-off composer email: an announcement): none follow.
    """

    deal_id: int
    brand: str
    pipeline: str
    stage: str
    contact_email: str
    contact_name: str = ""
    draft_id: int | None = None
    one_off: bool = False
    # The deal's email sequence, snapshotted now: the workflow keeps these steps for good.
    sequence: SequencePlan | None = None


@dataclass(frozen=True)
class DealWorkflows:
    """A Temporal client and the task queue deal workflows run on. `task_queue` is only
    needed to start workflows; a client built without it reaches running deals only."""

    client: Client
    task_queue: str | None = None

    # ------------------------------------------------------------------------ starting
    async def start(self, deal: DealStart) -> DealHandle:
        """Starts the deal's workflow; starting one that already runs is a no-op (safe to
        retry: `deal-{id}`, USE_EXISTING)."""
        if self.task_queue is None:
            raise RuntimeError("DealWorkflows needs a task queue to start workflows")
        who = deal.contact_name or deal.contact_email
        return await self.client.start_workflow(
            DealWorkflow.run,
            DealInput(
                deal_id=deal.deal_id,
                draft_id=deal.draft_id,
                one_off=deal.one_off,
                sequence=deal.sequence,
            ),
            id=workflow_id(deal.deal_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.BRAND, deal.brand),
                    SearchAttributePair(sa.PIPELINE, deal.pipeline),
                    SearchAttributePair(sa.DEAL_STAGE, deal.stage),
                    SearchAttributePair(sa.DEAL_STATUS, "active"),
                    SearchAttributePair(sa.CONTACT_EMAIL, deal.contact_email),
                    SearchAttributePair(sa.ENGAGEMENT_TIER, "new"),
                ]
            ),
            static_summary=f"{who} · {deal.brand} · {deal.pipeline}",
            static_details=(
                f"Deal {deal.deal_id}: {deal.contact_email} enrolled in {deal.pipeline} "
                f"({deal.brand}) at {deal.stage}. The autopilot sends the sequence, waits for "
                "replies, and stops on reply, unsubscribe or bounce."
            ),
        )

    async def start_many(
        self,
        infos: list[DealStart],
        *,
        concurrency: int = START_CONCURRENCY,
        attempts: int = START_ATTEMPTS,
        timeout: timedelta = START_TIMEOUT,
    ) -> dict[int, str | None]:
        """Starts each deal's workflow, at most `concurrency` at once so a bulk enrolment
        does not hit the cluster as one burst. The workflow id per deal, None where the start
        failed (the deal row stays; `POST /api/crm/deals/{id}/start/` retries it).

        A start that times out (`timeout` each) or meets a busy server is tried again, up to
        `attempts` in all. Once `concurrency` deals in a row have failed with none started in
        between, Temporal is taken to be down: the deals not yet tried are not (None, logged
        once as `workflow_start_skipped`), instead of each waiting out its own timeouts. A long
        run logs its progress (`workflows_starting`) every PROGRESS_EVERY starts."""
        gate = asyncio.Semaphore(concurrency)
        run = _StartRun(total=len(infos), give_up_after=concurrency)

        async def one(info: DealStart) -> tuple[int, str | None]:
            async with gate:
                if run.down:
                    return info.deal_id, None
                ok = await self._start_with_retries(info, attempts, timeout)
                run.done(ok=ok)
                return info.deal_id, workflow_id(info.deal_id) if ok else None

        started = dict(await asyncio.gather(*(one(info) for info in infos)))
        if run.down:
            skipped = run.total - run.finished
            log.warning("workflow_start_skipped", reason="temporal_unreachable", deals=skipped)
        return started

    async def _start_with_retries(self, info: DealStart, attempts: int, timeout: timedelta) -> bool:
        for attempt in range(1, attempts + 1):
            try:
                await asyncio.wait_for(self.start(info), timeout.total_seconds())
                return True
            except Exception as exc:  # any failure: the committed deal must survive it
                transient = isinstance(exc, TimeoutError) or (
                    isinstance(exc, RPCError) and exc.status in _TRANSIENT
                )
                if not transient or attempt == attempts:
                    log.warning(
                        "workflow_start_failed",
                        deal_id=info.deal_id,
                        error_type=type(exc).__name__,
                        attempts=attempt,
                    )
                    return False
            await asyncio.sleep(START_RETRY_AFTER * 2 ** (attempt - 1))
        return False

    # ---------------------------------------------------------------- reaching a deal
    def handle(self, deal: Deal) -> DealHandle:
        """The deal's workflow, or 409 `no_workflow` when it was never started."""
        if deal.workflow_id is None:
            raise no_workflow(deal)
        return self.client.get_workflow_handle_for(DealWorkflow.run, deal.workflow_id)

    def handle_by_id(self, deal_id: int, wid: str | None = None) -> DealHandle:
        """By id, for callers without the row (the relay, link checks, ops): the id is
        deterministic, so a workflow whose start was never recorded is still found."""
        return self.client.get_workflow_handle_for(DealWorkflow.run, wid or workflow_id(deal_id))

    async def move_stage(self, deal: Deal, req: MoveStageRequest) -> DealStateView:
        field = "stage_id" if req.stage_id is not None else "stage"
        handle = self.handle(deal)
        async with reaching(deal, field=field):
            return await handle.execute_update(DealWorkflow.move_stage, req)

    async def close(self, deal: Deal, *, won: bool, reason: str) -> DealStateView:
        handle = self.handle(deal)
        req = CloseRequest(reason=reason)
        async with reaching(deal):
            if won:
                return await handle.execute_update(DealWorkflow.mark_won, req)
            return await handle.execute_update(DealWorkflow.mark_lost, req)

    async def set_next_action(self, deal: Deal, req: NextActionRequest) -> DealStateView:
        """The workflow's `set_next_action` update (422 from its validator for a bad time)."""
        handle = self.handle(deal)
        async with reaching(deal, field="at"):
            return await handle.execute_update(DealWorkflow.set_next_action, req)

    async def review_draft(self, deal: Deal, decision: ReviewDecision) -> DealStateView:
        """409 `draft_not_pending` when the workflow no longer waits for this draft."""
        handle = self.handle(deal)
        async with reaching(deal):
            return await handle.execute_update(DealWorkflow.review_draft, decision)

    async def state(self, deal: Deal) -> DealStateView:
        handle = self.handle(deal)
        async with reaching(deal):
            return await handle.query(DealWorkflow.state)

    async def timeline(self, deal: Deal) -> list[TimelineEntry]:
        handle = self.handle(deal)
        async with reaching(deal):
            return await handle.query(DealWorkflow.timeline)

    async def send_now(self, deal: Deal, req: SendNowRequest) -> SendNowResult:
        """409 `deal_paused`, `review_pending`, `no_next_email` or `deal_closed` when nothing
        can be sent now."""
        handle = self.handle(deal)
        async with reaching(deal):
            return await handle.execute_update(DealWorkflow.send_now, req)

    async def send_reply(self, deal: Deal, req: SendReplyRequest) -> SendNowResult:
        """A suggested reply a person approved; 409 `deal_closed` when the deal is closed."""
        handle = self.handle(deal)
        async with reaching(deal):
            return await handle.execute_update(DealWorkflow.send_reply, req)

    async def nudge(self, deal: Deal) -> str:
        handle = self.handle(deal)
        async with reaching(deal):
            await handle.signal(DealWorkflow.nudge)
        return handle.id

    async def pause(self, deal: Deal, reason: str = "") -> None:
        handle = self.handle(deal)
        async with reaching(deal):
            await handle.signal(DealWorkflow.pause, reason)

    async def resume(self, deal: Deal) -> None:
        handle = self.handle(deal)
        async with reaching(deal):
            await handle.signal(DealWorkflow.resume)

    # ------------------------------------------------- raw: callers sort the RPC errors
    async def signal(
        self,
        deal_id: int,
        signal: DealSignal,
        arg: Any = None,
        *,
        timeout: timedelta | None = None,
    ) -> None:
        """Signals `deal-{deal_id}` (the relay's inbound events, the demo's reply). Temporal's
        errors are raised as they are: the relay tells "gone" from "unreachable" itself."""
        handle = self.handle_by_id(deal_id)
        args = [] if arg is None else [arg]
        await handle.signal(signal, *args, rpc_timeout=timeout)

    async def move_stage_by_id(
        self, deal_id: int, req: MoveStageRequest, *, wid: str | None = None
    ) -> DealStateView:
        """A stage move by a job (link checks); Temporal's errors are raised as they are."""
        return await self.handle_by_id(deal_id, wid).execute_update(DealWorkflow.move_stage, req)

    async def state_and_timeline(self, deal_id: int) -> tuple[DealStateView, list[TimelineEntry]]:
        handle = self.handle_by_id(deal_id)
        return await handle.query(DealWorkflow.state), await handle.query(DealWorkflow.timeline)

    # ----------------------------------------------------------------- visibility
    async def search(
        self,
        *,
        stage: str | None = None,
        tier: str | None = None,
        brand: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Deals by their search attributes (Temporal visibility), one dict per workflow."""
        query = visibility_query(stage=stage, tier=tier, brand=brand, status=status)
        rows: list[dict[str, Any]] = []
        async for wf in self.client.list_workflows(query, limit=limit):
            attrs = wf.typed_search_attributes
            rows.append(
                {
                    "workflow_id": wf.id,
                    "status": attrs.get(sa.DEAL_STATUS),
                    "stage": attrs.get(sa.DEAL_STAGE),
                    "tier": attrs.get(sa.ENGAGEMENT_TIER),
                    "brand": attrs.get(sa.BRAND),
                    "pipeline": attrs.get(sa.PIPELINE),
                    "contact": attrs.get(sa.CONTACT_EMAIL),
                    "next_action_at": attrs.get(sa.NEXT_ACTION_AT),
                }
            )
        return rows


class _StartRun:
    """The progress of one `start_many`: counts, the periodic log line, and whether Temporal
    looks down (`give_up_after` failures in a row)."""

    def __init__(self, *, total: int, give_up_after: int) -> None:
        self.total, self.give_up_after = total, give_up_after
        self.finished = self.failed = self.failed_in_a_row = 0
        self.down = False
        self._began = time.monotonic()

    def done(self, *, ok: bool) -> None:
        self.finished += 1
        if ok:
            self.failed_in_a_row = 0
        else:
            self.failed += 1
            self.failed_in_a_row += 1
            self.down = self.failed_in_a_row >= self.give_up_after
        if self.finished % PROGRESS_EVERY == 0 and self.finished < self.total:
            elapsed = time.monotonic() - self._began
            log.info(
                "workflows_starting",
                done=self.finished,
                total=self.total,
                failed=self.failed,
                per_second=round(self.finished / elapsed, 1) if elapsed > 0 else None,
            )


def visibility_query(
    *, stage: str | None, tier: str | None, brand: str | None, status: str | None
) -> str:
    clauses = ["WorkflowType = 'DealWorkflow'"]
    for key, value in (
        (sa.DEAL_STAGE, stage),
        (sa.ENGAGEMENT_TIER, tier),
        (sa.BRAND, brand),
        (sa.DEAL_STATUS, status),
    ):
        if value is not None:
            escaped = value.replace("\\", "\\\\").replace("'", "\\'")
            clauses.append(f"{key.name} = '{escaped}'")
    return " AND ".join(clauses)


def require_workflows(workflows: DealWorkflows | None) -> DealWorkflows:
    if workflows is None:
        raise ServiceUnavailable(
            "Temporal is not configured for this API; deal workflows cannot be reached",
            code="temporal_unavailable",
        )
    return workflows
