"""Tier bulk actions: one action for every open deal of an engagement tier, previewed first.

| action             | tier   | what each deal's workflow is asked to do                          |
| `reengage_lurkers` | lurker | `send_now` with a change of approach (the lurker's tier email)     |
| `archive_ghosts`   | ghost  | `mark_lost`, reason "ghost"                                        |
| `priority_hot`     | hot    | `send_now`: the next follow-up goes now                           |

The preview lists the deals (ids, contacts, stages) with a token signing the action and exactly
those ids; the confirm takes the ids and the token back, refuses a token that does not match,
and acts on those deals only. A deal that changed in between (another tier, closed, no
workflow) is skipped and reported, never acted on. Everything goes through the deal workflows
(`DealWorkflows`): no row is written behind a workflow's back, and no transaction is open
while a workflow is called (each read is its own unit of work through the caller's Transact).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session, col

from dealpilot.accounts.scope import BrandScope
from dealpilot.core.enums import EngagementTier
from dealpilot.core.errors import DealpilotError, ErrorDetail, Unprocessable
from dealpilot.deals.service import OPEN_STATUSES
from dealpilot.temporal.deals import DealWorkflows
from models import Brand, Contact, Deal, Pipeline, PipelineStage
from models.types import Id
from models.uow import Transact
from workflows.contracts import SendNowRequest

MAX_DEALS = 500  # per preview: a larger tier is done in several rounds
CONCURRENCY = 8
GHOST_REASON = "ghost"
REENGAGE_NOTE = (
    "They opened earlier emails but went quiet: take a different angle, lead with one concrete "
    "piece of value, keep it short."
)


class TierAction(StrEnum):
    reengage_lurkers = "reengage_lurkers"
    archive_ghosts = "archive_ghosts"
    priority_hot = "priority_hot"


TIER_OF: dict[TierAction, EngagementTier] = {
    TierAction.reengage_lurkers: EngagementTier.lurker,
    TierAction.archive_ghosts: EngagementTier.ghost,
    TierAction.priority_hot: EngagementTier.hot,
}
LABELS: dict[TierAction, str] = {
    TierAction.reengage_lurkers: "Re-engage all lurkers",
    TierAction.archive_ghosts: "Archive all ghosts",
    TierAction.priority_hot: "Priority follow-up for hot leads",
}


class PreviewedDeal(BaseModel):
    deal_id: int
    contact_email: str
    contact_name: str
    brand_slug: str
    pipeline_name: str
    stage_name: str
    status: str


class TierActionPreview(BaseModel):
    action: TierAction
    label: str
    tier: EngagementTier
    count: int
    deals: list[PreviewedDeal]
    # Signs the action and exactly these ids: the confirm must send both back.
    token: str
    truncated: bool = False  # more deals than MAX_DEALS: confirm these, then preview again


class TierActionConfirm(BaseModel):
    deal_ids: list[Id] = Field(min_length=1, max_length=MAX_DEALS)
    token: str = Field(min_length=1, max_length=200)


class ActedDeal(BaseModel):
    deal_id: int
    outcome: str  # sent | deferred | ... (send_now's outcome) | lost
    detail: str = ""


class SkippedDeal(BaseModel):
    deal_id: int
    reason: str  # tier_changed | closed | no_workflow | unknown_deal | an error code
    detail: str = ""


class TierActionResult(BaseModel):
    action: TierAction
    acted: list[ActedDeal]
    skipped: list[SkippedDeal]


def sign(secret: str, action: TierAction, deal_ids: Sequence[int]) -> str:
    message = f"{action}:{','.join(str(i) for i in sorted(set(deal_ids)))}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def preview(
    session: Session,
    action: TierAction,
    *,
    secret: str,
    scope: BrandScope | None = None,
    brand_id: int | None = None,
) -> TierActionPreview:
    """The open, started deals of the action's tier (in the scope's brands, or one brand)."""
    scope = scope or BrandScope.everything()
    stmt = (
        select(
            col(Deal.id),
            col(Contact.email),
            col(Contact.name),
            col(Brand.slug),
            col(Pipeline.name),
            col(PipelineStage.name),
            col(Deal.status),
        )
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .join(Pipeline, col(Pipeline.id) == col(Deal.pipeline_id))
        .join(Brand, col(Brand.id) == col(Pipeline.brand_id))
        .join(PipelineStage, col(PipelineStage.id) == col(Deal.stage_id))
        .where(
            col(Deal.engagement_tier) == TIER_OF[action],
            col(Deal.status).in_(OPEN_STATUSES),
            col(Deal.workflow_id).is_not(None),
            scope.condition(col(Pipeline.brand_id)),
        )
        .order_by(col(Deal.id))
        .limit(MAX_DEALS + 1)
    )
    if brand_id is not None:
        stmt = stmt.where(col(Pipeline.brand_id) == brand_id)
    rows = session.execute(stmt).all()
    deals = [
        PreviewedDeal(
            deal_id=r[0],
            contact_email=r[1],
            contact_name=r[2],
            brand_slug=r[3],
            pipeline_name=r[4],
            stage_name=r[5],
            status=str(r[6]),
        )
        for r in rows[:MAX_DEALS]
    ]
    return TierActionPreview(
        action=action,
        label=LABELS[action],
        tier=TIER_OF[action],
        count=len(deals),
        deals=deals,
        token=sign(secret, action, [d.deal_id for d in deals]),
        truncated=len(rows) > MAX_DEALS,
    )


def check_token(secret: str, action: TierAction, data: TierActionConfirm) -> None:
    if not hmac.compare_digest(sign(secret, action, data.deal_ids), data.token):
        raise Unprocessable(
            "These deals are not the ones previewed for this action: preview again",
            code="preview_mismatch",
            details=[ErrorDetail(field="token", problem="does not sign these deal ids")],
        )


def _current(
    session: Session, deal_id: int, tier: str, scope: BrandScope
) -> tuple[Deal | None, str]:
    deal = session.get(Deal, deal_id)
    pipeline = session.get(Pipeline, deal.pipeline_id) if deal else None
    if deal is None or pipeline is None or not scope.allows(pipeline.brand_id):
        return None, "unknown_deal"
    if deal.status not in OPEN_STATUSES:
        return None, "closed"
    if deal.engagement_tier != tier:
        return None, "tier_changed"
    if deal.workflow_id is None:
        return None, "no_workflow"
    session.expunge(deal)
    return deal, ""


async def confirm(
    workflows: DealWorkflows,
    transact: Transact,
    action: TierAction,
    data: TierActionConfirm,
    *,
    secret: str,
    actor: str,
    scope: BrandScope | None = None,
) -> TierActionResult:
    """Acts on exactly the previewed deals (the token says which); each deal is re-read first
    and skipped, with the reason, if it is no longer of the action's tier or open."""
    check_token(secret, action, data)
    scope = scope or BrandScope.everything()
    tier = TIER_OF[action]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(deal_id: int) -> ActedDeal | SkippedDeal:
        async with gate:
            deal, why = await transact(
                lambda session: _current(session, deal_id, tier, scope)  # noqa: B023
            )
            if deal is None:
                return SkippedDeal(deal_id=deal_id, reason=why)
            try:
                return await _act(workflows, action, deal, actor)
            except DealpilotError as exc:
                return SkippedDeal(deal_id=deal_id, reason=exc.code, detail=exc.message)

    results = await asyncio.gather(*(one(i) for i in dict.fromkeys(data.deal_ids)))
    return TierActionResult(
        action=action,
        acted=[r for r in results if isinstance(r, ActedDeal)],
        skipped=[r for r in results if isinstance(r, SkippedDeal)],
    )


async def _act(workflows: DealWorkflows, action: TierAction, deal: Deal, actor: str) -> ActedDeal:
    assert deal.id is not None
    if action == TierAction.archive_ghosts:
        state = await workflows.close(deal, won=False, reason=GHOST_REASON)
        return ActedDeal(deal_id=deal.id, outcome=state.status, detail=state.lost_reason)
    note = REENGAGE_NOTE if action == TierAction.reengage_lurkers else None
    result = await workflows.send_now(deal, SendNowRequest(actor=actor, approach_note=note))
    return ActedDeal(deal_id=deal.id, outcome=result.outcome, detail=result.subject)
