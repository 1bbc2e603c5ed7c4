"""Activities of the scheduled jobs: the daily review per brand and the scheduled drafts.

Scheduled drafts: a composer draft whose time has come is sent through the composer's send
path, as `POST /api/crm/composer/drafts/{id}/send` would send it (see ScheduledDrafts).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio import activity

from dealpilot.ai import AIEngine, AIError, LeadInput, to_application_error
from dealpilot.composer.sending import release_due
from dealpilot.temporal.deal_client import Temporal
from models import (
    AIDecisionLog,
    Brand,
    Contact,
    DailySummary,
    Deal,
    DealStatus,
    DraftStatus,
    EmailDraft,
    EmailEvent,
    EmailEventType,
    EmailLog,
    EmailStatus,
    PipelineStage,
    session_scope,
    utcnow,
)
from workflows.jobs import (
    DailyReviewResult,
    DraftReminder,
    DueDraftsReport,
    DueDraftsRequest,
    RescoreResult,
    ReviewRequest,
    StuckDeal,
    StuckResult,
    SummaryRequest,
    WaitingDraft,
)

log = structlog.get_logger(__name__)
OPEN = (DealStatus.active, DealStatus.paused)


def _brand(session: Session, slug: str) -> Brand:
    brand = session.exec(select(Brand).where(Brand.slug == slug)).first()
    if brand is None or brand.id is None:
        raise LookupError(f"no brand {slug!r}")
    return brand


def local_day(brand: Brand, at: datetime) -> str:
    return at.astimezone(ZoneInfo(brand.timezone)).date().isoformat()


class DailyReview:
    def __init__(
        self,
        engine: Engine,
        ai: AIEngine,
        *,
        stuck_after: timedelta = timedelta(days=14),
        review_after: timedelta = timedelta(hours=24),
        score_limit: int = 100,
    ) -> None:
        self._engine = engine
        self._ai = ai
        self._stuck_after = stuck_after
        self._review_after = review_after
        self._score_limit = score_limit

    @activity.defn(name="brand_is_active")
    def brand_is_active(self, slug: str) -> bool:
        with Session(self._engine) as session:
            brand = session.exec(select(Brand).where(Brand.slug == slug)).first()
            return brand is not None and brand.is_active

    # ---------------------------------------------------------------- scoring
    def _unscored(self, slug: str) -> list[tuple[int, LeadInput]]:
        with Session(self._engine) as session:
            brand = _brand(session, slug)
            contacts = session.exec(
                select(Contact)
                .where(Contact.brand_id == brand.id, col(Contact.ai_score).is_(None))
                .order_by(col(Contact.id))
                .limit(self._score_limit)
            ).all()
            leads = []
            for c in contacts:
                sent = session.exec(
                    select(EmailLog).where(
                        EmailLog.brand_id == brand.id,
                        EmailLog.to_email == c.email,
                        EmailLog.status == EmailStatus.sent,
                    )
                ).all()
                leads.append(
                    (
                        c.id or 0,
                        LeadInput(
                            name=c.name or None,
                            email=c.email,
                            company=c.company or None,
                            website=c.website or None,
                            contact_type=str(c.contact_type),
                            domain_authority=c.domain_authority,
                            emails_sent=len(sent),
                            emails_opened=sum(1 for s in sent if s.opened),
                            emails_clicked=sum(1 for s in sent if s.clicked),
                            replies=sum(1 for s in sent if s.replied),
                            notes=c.notes or None,
                        ),
                    )
                )
            return leads

    def _save_score(self, brand_slug: str, contact_id: int, row: AIDecisionLog, score: int) -> None:
        with session_scope(self._engine) as session:
            contact = session.get(Contact, contact_id)
            if contact is None:
                return
            contact.ai_score, contact.updated_at = score, utcnow()
            row.brand_id = contact.brand_id
            session.add_all([contact, row])

    @activity.defn(name="rescore_new_contacts")
    async def rescore_new_contacts(self, req: ReviewRequest) -> RescoreResult:
        """Scores the brand's contacts that were never scored (new ones), through the engine;
        each call logged as an AIDecisionLog row of the brand."""
        leads = await asyncio.to_thread(self._unscored, req.brand)
        result = RescoreResult()
        for contact_id, lead in leads:
            try:
                scored = await self._ai.score_lead(lead)
            except AIError as exc:
                raise to_application_error(exc) from exc
            value = scored.value
            row = AIDecisionLog(
                decision_type="score_lead",
                action_taken=f"score:{value.score}",
                reasoning=value.reasoning,
                meta={**value.model_dump(mode="json"), "contact_id": contact_id, "job": "daily"},
                model=scored.model,
                prompt_tokens=scored.prompt_tokens,
                completion_tokens=scored.completion_tokens,
                latency_ms=scored.latency_ms,
            )
            await asyncio.to_thread(self._save_score, req.brand, contact_id, row, value.score)
            result.scored += 1
            result.contact_ids.append(contact_id)
            activity.heartbeat(contact_id)
        return result

    # ------------------------------------------------------------ stuck deals
    @activity.defn(name="flag_stuck_deals")
    def flag_stuck_deals(self, req: ReviewRequest) -> StuckResult:
        """Active deals with no stage change for STUCK_DEAL_DAYS and nothing scheduled next:
        listed in the summary; flagged (an AIDecisionLog row) once per stage they stall in."""
        cutoff = req.at - self._stuck_after
        result = StuckResult()
        with session_scope(self._engine) as session:
            brand = _brand(session, req.brand)
            rows = session.exec(
                select(Deal, Contact.email, PipelineStage.name)
                .join(Contact, col(Contact.id) == col(Deal.contact_id))
                .join(PipelineStage, col(PipelineStage.id) == col(Deal.stage_id))
                .where(
                    Contact.brand_id == brand.id,
                    Deal.status == DealStatus.active,
                    col(Deal.next_action_at).is_(None),
                    col(Deal.stage_entered_at) <= cutoff,
                )
                .order_by(col(Deal.stage_entered_at))
            ).all()
            for deal, email, stage_name in rows:
                assert deal.id is not None
                days = (req.at - deal.stage_entered_at).days
                result.deals.append(StuckDeal(deal.id, email, stage_name, days))
                flagged = session.exec(
                    select(AIDecisionLog.id).where(
                        AIDecisionLog.deal_id == deal.id,
                        AIDecisionLog.decision_type == "stuck_deal",
                        col(AIDecisionLog.created_at) >= deal.stage_entered_at,
                    )
                ).first()
                if flagged is None:
                    session.add(
                        AIDecisionLog(
                            brand_id=brand.id,
                            deal_id=deal.id,
                            decision_type="stuck_deal",
                            action_taken="flagged_for_review",
                            reasoning=(
                                f"{days} days in {stage_name} with no next action: needs a person"
                            ),
                            model="daily-review",
                        )
                    )
                    result.newly_flagged.append(deal.id)
        return result

    # ----------------------------------------------------------------- drafts
    @activity.defn(name="drafts_waiting_review")
    def drafts_waiting_review(self, req: ReviewRequest) -> DraftReminder:
        cutoff = req.at - self._review_after
        with Session(self._engine) as session:
            brand = _brand(session, req.brand)
            drafts = session.exec(
                select(EmailDraft)
                .where(
                    EmailDraft.brand_id == brand.id,
                    EmailDraft.status == DraftStatus.pending_review,
                    col(EmailDraft.updated_at) <= cutoff,
                )
                .order_by(col(EmailDraft.updated_at))
            ).all()
        waiting = [
            WaitingDraft(d.id or 0, d.subject, int((req.at - d.updated_at).total_seconds() // 3600))
            for d in drafts
        ]
        if waiting:
            log.warning(
                "drafts.review_overdue", brand=req.brand, drafts=[w.draft_id for w in waiting]
            )
        return DraftReminder(waiting)

    # ---------------------------------------------------------------- summary
    @activity.defn(name="write_daily_summary")
    def write_daily_summary(self, req: SummaryRequest) -> DailyReviewResult:
        since = req.at - timedelta(days=1)
        with session_scope(self._engine) as session:
            brand = _brand(session, req.brand)
            day = local_day(brand, req.at)
            deals = dict(
                session.exec(
                    select(Deal.status, func.count())
                    .join(Contact, col(Contact.id) == col(Deal.contact_id))
                    .where(Contact.brand_id == brand.id)
                    .group_by(Deal.status)
                ).all()
            )
            events = dict(
                session.exec(
                    select(EmailEvent.event_type, func.count())
                    .where(EmailEvent.brand_id == brand.id, col(EmailEvent.occurred_at) >= since)
                    .group_by(EmailEvent.event_type)
                ).all()
            )
            sent = session.exec(
                select(func.count()).where(
                    EmailLog.brand_id == brand.id,
                    EmailLog.status == EmailStatus.sent,
                    col(EmailLog.sent_at) >= since,
                )
            ).one()
            new_contacts = session.exec(
                select(func.count()).where(
                    Contact.brand_id == brand.id, col(Contact.created_at) >= since
                )
            ).one()
            data = {
                "brand": brand.slug,
                "day": day,
                "generated_at": req.at.isoformat(),
                "last_24h": {
                    "emails_sent": int(sent),
                    "new_contacts": int(new_contacts),
                    "replies": int(events.get(EmailEventType.reply, 0)),
                    "bounces": int(events.get(EmailEventType.bounce, 0)),
                    "opens": int(events.get(EmailEventType.open, 0)),
                    "clicks": int(events.get(EmailEventType.click, 0)),
                    "unsubscribes": int(events.get(EmailEventType.unsubscribe, 0)),
                },
                "deals": {str(status): int(n) for status, n in deals.items()},
                "contacts_scored": req.rescored.scored,
                "stuck_deals": [vars(s) for s in req.stuck.deals],
                "newly_flagged": req.stuck.newly_flagged,
                "drafts_waiting_review": [vars(d) for d in req.drafts.drafts],
            }
            row = session.exec(
                select(DailySummary).where(
                    DailySummary.brand_id == brand.id,
                    DailySummary.day == date.fromisoformat(day),
                )
            ).first() or DailySummary(brand_id=brand.id or 0, day=date.fromisoformat(day))
            row.data, row.created_at = data, utcnow()
            session.add(row)
            session.flush()
            return DailyReviewResult(brand=brand.slug, day=day, summary_id=row.id)


class ScheduledDrafts:
    """Releases composer drafts whose time has come through the composer's one send path
    (`dealpilot.composer.sending`): each due draft is sent once (its row locked, status
    checked, deals created and the draft marked sent in one transaction), then each deal's
    workflow starts with the draft as its first email. Deals a previous attempt created but
    could not start are started here too, so a retry or a Temporal outage loses nothing."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="release_due_drafts")
    async def release_due_drafts(self, req: DueDraftsRequest) -> DueDraftsReport:
        temporal = Temporal(activity.client(), activity.info().task_queue)
        released = await release_due(temporal, self._engine, now=req.now)
        if released.drafts or released.failed or released.deals_started:
            log.info(
                "drafts.released",
                drafts=released.drafts,
                failed=released.failed,
                deals=released.deals_started,
            )
        return DueDraftsReport(drafts=released.drafts, deals_started=released.deals_started)
