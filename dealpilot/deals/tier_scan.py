"""The daily engagement scan's work for one brand: recompute every open deal's engagement tier
from its contact's sends and events, write the changed ones to their rows, and tell their
workflows (`tier_refreshed`), which update the `EngagementTier` search attribute and replan a
follow-up only when the tier changes its cadence (workflows.cadence).

The rows are written here, not by the workflows' `sync_deal`: the scan must not wake every
deal to save one column, and the tier is derived data (the workflow writes the same value
whenever it saves the deal). A deal whose workflow is gone keeps its new row all the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import structlog
from sqlmodel import Session, col, select

from dealpilot.deals.ab_winner import decide_brand
from dealpilot.deals.engagement import engagement_stats
from models import Brand, Contact, Deal, DealStatus, Pipeline
from models.uow import Transact
from workflows.engagement_scan import EngagementScanReport
from workflows.rules import engagement_tier

log = structlog.get_logger(__name__)
OPEN = (DealStatus.active, DealStatus.paused)


@dataclass(frozen=True)
class TierChange:
    deal_id: int
    tier: str


def refresh_rows(session: Session, brand_slug: str, now: datetime) -> tuple[int, list[TierChange]]:
    """Open deals scanned, and those whose tier changed (their rows written; flushed)."""
    brand = session.exec(select(Brand).where(Brand.slug == brand_slug)).first()
    if brand is None or brand.id is None or not brand.is_active:
        return 0, []
    rows = session.exec(
        select(Deal, Contact.email)
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .join(Pipeline, col(Pipeline.id) == col(Deal.pipeline_id))
        .where(col(Pipeline.brand_id) == brand.id, col(Deal.status).in_(OPEN))
        .order_by(col(Deal.id))
    ).all()
    tiers: dict[str, str] = {}  # one contact, one tier: computed once per address
    changes: list[TierChange] = []
    for deal, email in rows:
        if email not in tiers:
            tiers[email] = engagement_tier(
                engagement_stats(session, brand_id=brand.id, email=email), now
            )
        tier = tiers[email]
        if tier != deal.engagement_tier:
            deal.engagement_tier = tier  # type: ignore[assignment]
            session.add(deal)
            changes.append(TierChange(deal.id or 0, tier))
    session.flush()
    return len(rows), changes


Signal = Callable[[int, str], Awaitable[bool]]  # deal id, tier -> reached the workflow


async def scan_brand(
    transact: Transact, signal: Signal, brand_slug: str, now: datetime
) -> EngagementScanReport:
    scanned, changes = await transact(partial(refresh_rows, brand_slug=brand_slug, now=now))
    report = EngagementScanReport(brand=brand_slug, scanned=scanned, changed=len(changes))
    for change in changes:
        if await signal(change.deal_id, change.tier):
            report.signalled += 1
        else:
            report.unreachable.append(change.deal_id)
    # The brand's A/B tests, decided once their figures are in (idempotent: a decided stage has
    # no test left until a new challenger starts).
    report.ab_promoted = await transact(partial(decide_brand, brand_slug=brand_slug, now=now))
    log.info(
        "engagement_scan.done",
        ab_promoted=report.ab_promoted,
        brand=brand_slug,
        scanned=scanned,
        changed=len(changes),
        unreachable=len(report.unreachable),
    )
    return report
