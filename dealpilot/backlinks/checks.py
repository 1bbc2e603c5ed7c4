"""Link verification of backlink opportunities: fetch, record, and move placed deals.

Per opportunity: fetch its target_url (`verify.check_page`), then in one transaction record
what was found (`link_check`, anchor, rel, checked time, first `verified_at`), mark it
`placed` when our link is there, and note a transition (link found, link removed) in
AIDecisionLog, where the API's AI activity and the opportunity listing
(`?link_check=removed`) show it. Only after that commit is the deal (if any, and still open)
moved to its pipeline's "Link Placed" stage through the deal workflow's `move_stage` update;
a move that fails is reported and retried by the next check, because the deal is still open
and the link still found.

States: found (our link is on the page) · missing (never seen yet) · removed (seen before,
gone now; `verified_at` remembers the first sighting) · error (the page could not be read:
timeout, 4xx/5xx, not HTML; anchor and rel from earlier checks are kept).

Reading the target and recording the result are units of work run through the caller's
`Transact`: no transaction stays open while a page is fetched or a deal is moved.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy import or_
from sqlmodel import Session, col, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from dealpilot.backlinks.verify import FetchLimits, OurSite, PageCheck, build_client, check_page
from dealpilot.core.settings import Settings
from dealpilot.temporal.deals import DealWorkflows
from models import (
    AIDecisionLog,
    BacklinkOpportunity,
    BacklinkStatus,
    Brand,
    Deal,
    DealStatus,
    LinkCheck,
    PipelineStage,
    StageKind,
    utcnow,
)
from models.uow import Transact
from workflows.contracts import MoveStageRequest
from workflows.link_checks import LinkOutcome

log = structlog.get_logger(__name__)

LINK_PLACED = frozenset({"link_placed", "link-placed"})
CHECKED_STATUSES = (BacklinkStatus.outreaching, BacklinkStatus.placed)
OPEN_DEALS = (DealStatus.active, DealStatus.paused)
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class _Target:
    url: str
    our: OurSite
    user_agent: str


@dataclass(frozen=True)
class _Move:
    deal_id: int
    workflow_id: str | None  # None: the start was never recorded; `deal-{id}` finds it
    stage_id: int
    reason: str


def limits_from(settings: Settings) -> FetchLimits:
    timeout = settings.link_check_timeout.total_seconds()
    return FetchLimits(
        connect_timeout=timeout,
        read_timeout=timeout,
        deadline=settings.link_check_deadline.total_seconds(),
        max_bytes=settings.link_check_max_bytes,
        user_agent=settings.link_check_user_agent,
        allow_private=settings.link_check_allow_private,
    )


def user_agent(base: str, brand: Brand) -> str:
    """Identifies us and where to read about us, as polite crawlers do."""
    site = brand.website_url or (f"https://{brand.domain}" if brand.domain else "")
    return f"{base} (+{site})" if site else base


def link_placed_stage(session: Session, pipeline_id: int) -> PipelineStage | None:
    """The pipeline's "Link Placed" stage (by slug or name), else its won stage."""
    stages = session.exec(
        select(PipelineStage)
        .where(PipelineStage.pipeline_id == pipeline_id)
        .order_by(col(PipelineStage.order))
    ).all()
    for stage in stages:
        if stage.slug in LINK_PLACED or stage.name.strip().lower() == "link placed":
            return stage
    return next((s for s in stages if s.kind == StageKind.won), None)


def candidate_ids(session: Session, brand_id: int | None = None) -> list[int]:
    """Opportunities worth re-checking: being pitched, or placed (to catch removals)."""
    stmt = (
        select(col(BacklinkOpportunity.id))
        .join(Brand, col(Brand.id) == col(BacklinkOpportunity.brand_id))
        .outerjoin(Deal, col(Deal.id) == col(BacklinkOpportunity.deal_id))
        .where(col(BacklinkOpportunity.status).in_(CHECKED_STATUSES), col(Brand.is_active))
        # An opportunity whose deal was lost is rejected (even one from before deals led).
        .where(or_(col(Deal.id).is_(None), col(Deal.status) != DealStatus.lost))
        .order_by(col(BacklinkOpportunity.id))
    )
    if brand_id is not None:
        stmt = stmt.where(col(BacklinkOpportunity.brand_id) == brand_id)
    return [i for i in session.exec(stmt).all() if i is not None]


def brand_candidate_ids(session: Session, brand: str | None = None) -> list[int]:
    """`candidate_ids` of the brand with this slug (none for an unknown slug), or of all."""
    brand_id = None
    if brand is not None:
        row = session.exec(select(Brand).where(Brand.slug == brand)).first()
        if row is None:
            return []
        brand_id = row.id
    return candidate_ids(session, brand_id)


class LinkChecks:
    def __init__(
        self,
        transact: Transact,
        limits: FetchLimits | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._transact = transact
        self.limits = limits or FetchLimits()
        self._http = http
        self._concurrency = concurrency

    # ------------------------------------------------------------------ reading
    async def candidates(self, brand: str | None = None) -> list[int]:
        return await self._transact(lambda session: brand_candidate_ids(session, brand))

    def _target(self, session: Session, opportunity_id: int) -> _Target | None:
        opp = session.get(BacklinkOpportunity, opportunity_id)
        if opp is None:
            return None
        brand = session.get(Brand, opp.brand_id)
        assert brand is not None
        our = OurSite.of(
            brand.domain, website_url=brand.website_url, content_url=opp.our_content_url
        )
        return _Target(opp.target_url, our, user_agent(self.limits.user_agent, brand))

    # ------------------------------------------------------------------ recording
    def _record(
        self, session: Session, opportunity_id: int, page: PageCheck, our: OurSite
    ) -> tuple[LinkOutcome, _Move | None] | None:
        now = utcnow()
        opp = session.get(BacklinkOpportunity, opportunity_id)
        if opp is None or opp.id is None:
            return None  # deleted while its page was being fetched
        before = opp.link_check
        best = page.best(our) if page.ok else None
        outcome = LinkOutcome(opportunity_id=opp.id, link_check="", deal_id=opp.deal_id)
        opp.link_checked_at = now
        if not page.ok:
            opp.link_check = LinkCheck.error
            opp.link_check_error = page.error[:500]
        elif best is not None:
            opp.link_check = LinkCheck.found
            opp.link_check_error = ""
            opp.link_anchor = best.anchor[:300]
            opp.link_rel = best.rel
            opp.verified_at = opp.verified_at or now
            if opp.status != BacklinkStatus.placed:
                opp.status = BacklinkStatus.placed
            outcome.newly_found = before != LinkCheck.found
        else:
            # Seen before (verified_at is the first sighting) means it was taken down.
            opp.link_check = LinkCheck.removed if opp.verified_at else LinkCheck.missing
            opp.link_check_error = ""
            outcome.newly_removed = (
                opp.link_check == LinkCheck.removed and before != LinkCheck.removed
            )
        outcome.link_check = str(opp.link_check)
        outcome.anchor, outcome.rel, outcome.error = opp.link_anchor, opp.link_rel, page.error
        session.add(opp)
        brand_id = opp.brand_id
        if outcome.newly_found or outcome.newly_removed:
            session.add(self._note(opp, brand_id, page, outcome))
        move = self._move_for(session, opp, page) if best is not None else None
        return outcome, move

    @staticmethod
    def _log(opportunity_id: int, page: PageCheck, outcome: LinkOutcome) -> None:
        if outcome.newly_removed:
            log.warning(
                "backlink.link_removed",
                opportunity_id=opportunity_id,
                target_url=page.url,
                deal_id=outcome.deal_id,
            )
        elif outcome.newly_found:
            log.info("backlink.link_found", opportunity_id=opportunity_id, rel=outcome.rel)

    @staticmethod
    def _note(
        opp: BacklinkOpportunity, brand_id: int, page: PageCheck, outcome: LinkOutcome
    ) -> AIDecisionLog:
        if outcome.newly_removed:
            action = "link_removed"
            reasoning = (
                f"Our link on {opp.target_url} is gone (first seen {opp.verified_at:%Y-%m-%d}, "
                f"last anchor {opp.link_anchor!r})."
            )
        else:
            action = "link_found"
            reasoning = (
                f"Our link is on {opp.target_url}: anchor {opp.link_anchor!r}, {opp.link_rel}."
            )
        return AIDecisionLog(
            brand_id=brand_id,
            deal_id=opp.deal_id,
            decision_type="link_check",
            action_taken=action,
            reasoning=reasoning,
            meta={
                "opportunity_id": opp.id,
                "target_url": opp.target_url,
                "final_url": page.final_url,
                "anchor": opp.link_anchor,
                "rel": opp.link_rel,
            },
            model="link-check",
        )

    @staticmethod
    def _move_for(session: Session, opp: BacklinkOpportunity, page: PageCheck) -> _Move | None:
        if opp.deal_id is None:
            return None
        deal = session.get(Deal, opp.deal_id)
        if deal is None or deal.id is None or deal.status not in OPEN_DEALS:
            return None
        stage = link_placed_stage(session, deal.pipeline_id)
        if stage is None or stage.id is None or deal.stage_id == stage.id:
            return None
        reason = f"link verified on {page.final_url or opp.target_url}"
        return _Move(deal.id, deal.workflow_id, stage.id, reason)

    # ------------------------------------------------------------------ moving deals
    @staticmethod
    async def _move(workflows: DealWorkflows | None, move: _Move, outcome: LinkOutcome) -> None:
        if workflows is None:
            outcome.deal_note = "Temporal not configured: deal not moved"
            return
        req = MoveStageRequest(stage_id=move.stage_id, reason=move.reason, actor="link_check")
        try:
            await workflows.move_stage_by_id(move.deal_id, req, wid=move.workflow_id)
        except (WorkflowUpdateFailedError, RPCError) as exc:
            outcome.deal_note = f"deal not moved ({type(exc).__name__})"
            log.warning(
                "backlink.deal_move_failed", deal_id=move.deal_id, error_type=type(exc).__name__
            )
            return
        outcome.deal_moved = True
        log.info("backlink.deal_moved", deal_id=move.deal_id, stage_id=move.stage_id)

    # ------------------------------------------------------------------ verifying
    async def verify_one(
        self, opportunity_id: int, workflows: DealWorkflows | None, http: httpx.AsyncClient
    ) -> LinkOutcome | None:
        """None when the opportunity no longer exists."""
        target = await self._transact(lambda session: self._target(session, opportunity_id))
        if target is None:
            return None
        limits = dataclasses.replace(self.limits, user_agent=target.user_agent)
        page = await check_page(http, target.url, target.our, limits)
        recorded = await self._transact(
            lambda session: self._record(session, opportunity_id, page, target.our)
        )
        if recorded is None:
            return None
        outcome, move = recorded
        self._log(opportunity_id, page, outcome)  # once committed
        if move is not None:
            await self._move(workflows, move, outcome)  # after the commit, never inside it
        return outcome

    async def verify(
        self,
        opportunity_ids: Sequence[int],
        workflows: DealWorkflows | None,
        *,
        progress: Callable[[LinkOutcome], None] | None = None,
    ) -> list[LinkOutcome]:
        """Checks a few pages at a time; outcomes in the order given (missing ids left out).
        Deals are moved through `temporal` (None: not moved)."""
        gate = asyncio.Semaphore(self._concurrency)
        http = self._http or build_client(self.limits)

        async def one(opportunity_id: int) -> LinkOutcome | None:
            async with gate:
                outcome = await self.verify_one(opportunity_id, workflows, http)
            if outcome is not None and progress is not None:
                progress(outcome)
            return outcome

        try:
            results = await asyncio.gather(*(one(i) for i in opportunity_ids))
        finally:
            if self._http is None:
                await http.aclose()
        return [r for r in results if r is not None]
