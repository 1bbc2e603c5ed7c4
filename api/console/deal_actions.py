"""What a person does to a deal from the console, through the same calls as the REST API
(api/routes/deal_actions.py): stage moves, won/lost and send-now are the workflow's updates
and signals through `DealWorkflows`; pause/resume wait for the workflow's mirror like
`PATCH /api/crm/deals/{id}/`; only the value, a field the workflow does not own, is written
directly, and so is the owner (an operator's annotation the workflow never reads). The
workflow decides: its refusal comes back as a DealpilotError for the page."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from starlette.concurrency import run_in_threadpool

from dealpilot.accounts import BrandScope
from dealpilot.core.errors import Unprocessable
from dealpilot.deals import actions
from dealpilot.deals import service as deals
from dealpilot.desk.owners import set_owner
from dealpilot.temporal.deals import DealWorkflows, require_workflows
from models import Deal
from models.uow import Transact, UnitOfWork
from workflows.contracts import MoveStageRequest, NextActionRequest

ACTIONS = (
    "pause",
    "resume",
    "send-now",
    "mark-won",
    "mark-lost",
    "move",
    "value",
    "next-action",
    "owner",
)
BULK_ACTIONS = ("pause", "resume", "send-now", "mark-lost")


def _when(text: str) -> datetime:
    """A `datetime-local` field's value, read as UTC (the page says so)."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise Unprocessable(f"{text!r} is not a date and time", code="invalid_time") from exc
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _value(text: str) -> Decimal | None:
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip()).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise Unprocessable(f"{text!r} is not an amount", code="invalid_value") from exc
    if value < 0 or value >= Decimal("1e10"):
        raise Unprocessable("The value must be between 0 and 9,999,999,999.99")
    return value


async def apply(
    action: str,
    *,
    deal: Deal,
    workflows: DealWorkflows | None,
    transact: Transact,
    uow: UnitOfWork,
    actor: str,
    stage_id: int | None = None,
    reason: str = "",
    value: str = "",
    when: str = "",
    owner: str = "",
) -> str:
    """Does `action` and says what happened, in words for the page. Everything but the
    value needs the workflow (503 `temporal_unavailable` without Temporal)."""
    deal_id = deal.id or 0
    if action == "value":
        amount = _value(value)
        await run_in_threadpool(deals.update_fields, uow.session, deal_id, {"value": amount})
        return f"Deal {deal_id}'s value is now {amount if amount is not None else 'unset'}."
    if action == "owner":
        # The caller checked the deal is in the user's brands; the owner must be a user of
        # that brand too (set_owner checks).
        owner_id = int(owner) if owner.strip().isdigit() else None
        await run_in_threadpool(set_owner, uow.session, BrandScope.everything(), deal_id, owner_id)
        return f"Deal {deal_id}'s owner is saved." if owner_id else f"Deal {deal_id} is unassigned."
    temporal = require_workflows(workflows)
    if action == "move":
        if stage_id is None:
            raise Unprocessable("Choose a stage", code="invalid_stage")
        state = await temporal.move_stage(
            deal, MoveStageRequest(stage_id=stage_id, reason=reason, actor=actor)
        )
        return f"Deal {deal_id} moved to {state.stage}."
    if action in ("mark-won", "mark-lost"):
        won = action == "mark-won"
        await temporal.close(deal, won=won, reason=reason)
        return f"Deal {deal_id} marked {'won' if won else 'lost'}."
    if action in ("pause", "resume"):
        pause = action == "pause"
        applied = await actions.pause_or_resume(
            temporal, transact, deal, pause=pause, reason=reason
        )
        verb = "paused" if pause else "resumed"
        if applied:
            return f"Deal {deal_id} {verb}."
        return f"Deal {deal_id} will be {verb} as soon as its workflow is free."
    if action == "next-action":
        at = _when(when)
        state = await temporal.set_next_action(
            deal, NextActionRequest(at=at, reason=reason or f"set by {actor}")
        )
        return f"Deal {deal_id}'s next action is at {at:%Y-%m-%d %H:%M} UTC ({state.stage})."
    if action == "send-now":
        await temporal.nudge(deal)
        return (
            f"Deal {deal_id} acts now: its next email goes out (inside the send window, "
            "within the daily cap)."
        )
    raise Unprocessable(f"No action {action!r}", code="invalid_action")
