"""The daily review (09:00 on weekdays, per brand): score new contacts, find stuck deals, list
drafts waiting in the review queue too long, write the daily summary.

Each step works in the session its activity (activities/jobs.py) opens and flushes, never
commits; scoring calls the AI per contact, so it runs its reads and each contact's score as
separate units of work through the caller's `Transact` (no transaction open during an AI call,
and a score once paid for is kept even if a later contact fails).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import func
from sqlmodel import Session, col, select

from dealpilot.ai import AIEngine, LeadInput
from dealpilot.ai.prompt_rows import active_texts
from dealpilot.deals.deliverability import health
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
    utcnow,
)
from models.uow import Transact
from workflows.jobs import (
    DailyReviewResult,
    DraftReminder,
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
        transact: Transact,
        ai: AIEngine,
        *,
        stuck_after: timedelta = timedelta(days=14),
        review_after: timedelta = timedelta(hours=24),
        score_limit: int = 100,
    ) -> None:
        self._transact = transact
        self._ai = ai
        self._stuck_after = stuck_after
        self._review_after = review_after
        self._score_limit = score_limit

    @staticmethod
    def brand_is_active(session: Session, slug: str) -> bool:
        brand = session.exec(select(Brand).where(Brand.slug == slug)).first()
        return brand is not None and brand.is_active

    # ---------------------------------------------------------------- scoring
    def _unscored(
        self, session: Session, slug: str
    ) -> tuple[list[tuple[int, LeadInput]], dict[str, str]]:
        """The brand's unscored contacts, and its active prompt rows."""
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
        return leads, active_texts(session, brand.id)

    @staticmethod
    def _save_score(session: Session, contact_id: int, row: AIDecisionLog, score: int) -> None:
        contact = session.get(Contact, contact_id)
        if contact is None:
            return
        contact.ai_score, contact.updated_at = score, utcnow()
        row.brand_id = contact.brand_id
        session.add_all([contact, row])

    async def rescore_new_contacts(
        self, req: ReviewRequest, *, heartbeat: Callable[..., None]
    ) -> RescoreResult:
        """Scores the brand's contacts that were never scored (new ones), through the engine;
        each call logged as an AIDecisionLog row of the brand. `heartbeat` gets each contact id
        once scored."""
        leads, prompts = await self._transact(lambda session: self._unscored(session, req.brand))
        ai = self._ai.with_prompts(prompts)
        result = RescoreResult()
        for contact_id, lead in leads:
            scored = await ai.score_lead(lead)
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
            await self._transact(
                partial(self._save_score, contact_id=contact_id, row=row, score=value.score)
            )
            result.scored += 1
            result.contact_ids.append(contact_id)
            heartbeat(contact_id)
        return result

    # ------------------------------------------------------------ stuck deals
    def flag_stuck_deals(self, session: Session, req: ReviewRequest) -> StuckResult:
        """Active deals with no stage change for STUCK_DEAL_DAYS and nothing scheduled next:
        listed in the summary; flagged (an AIDecisionLog row) once per stage they stall in."""
        cutoff = req.at - self._stuck_after
        result = StuckResult()
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
    def drafts_waiting_review(self, session: Session, req: ReviewRequest) -> DraftReminder:
        """Drafts waiting in the review queue for longer than DRAFT_REVIEW_REMIND_AFTER."""
        cutoff = req.at - self._review_after
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
    @staticmethod
    def write_daily_summary(session: Session, req: SummaryRequest) -> DailyReviewResult:
        since = req.at - timedelta(days=1)
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
            # The guard's rolling rates, whether sending is paused and why, the warm-up.
            "deliverability": health(session, brand, req.at, domains=False).summary(),
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
