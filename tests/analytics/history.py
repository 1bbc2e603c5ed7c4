"""A known history for the analytics tests: two brands, deals that move through stages at
known times, emails with every outcome, events, reply classifications and AI decisions with
tokens. Every figure the tests assert is derived by hand in the comments here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import Session

from models import (
    AIDecisionLog,
    Brand,
    Deal,
    DealStatus,
    EmailEvent,
    EmailEventType,
    EmailLog,
    EmailStatus,
    EngagementTier,
    Pipeline,
    PipelineStage,
    find_brand,
)
from tests.factories import make_brand, make_contact, make_pipeline, stages_of


def at(day: int, hour: int = 10, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass
class History:
    brand: Brand  # codeteki: everything below unless said
    other: Brand  # desifirms: one deal, one email, two decisions
    sales: Pipeline
    directory: Pipeline  # the other brand's
    stages: dict[str, PipelineStage]
    deals: dict[str, Deal]


def _deal(
    s: Session,
    brand: Brand,
    pipeline: Pipeline,
    stage: PipelineStage,
    created: datetime,
    *,
    value: str | None,
    tier: EngagementTier,
) -> Deal:
    contact = make_contact(s, brand=brand)
    deal = Deal(
        contact_id=contact.id or 0,
        pipeline_id=pipeline.id or 0,
        stage_id=stage.id or 0,
        value=Decimal(value) if value else None,
        engagement_tier=tier,
        created_at=created,
        stage_entered_at=created,
    )
    s.add(deal)
    s.commit()
    s.refresh(deal)
    return deal


def _move(s: Session, deal: Deal, stage: PipelineStage, when: datetime, **end: object) -> None:
    """As the workflow's mirror writes a move: stage and entry time together."""
    deal.stage_id, deal.stage_entered_at = stage.id or 0, when
    for key, value in end.items():
        setattr(deal, key, value)
    s.add(deal)
    s.commit()


def _log(
    s: Session,
    deal: Deal,
    stage: PipelineStage,
    sent: datetime | None,
    variant: str,
    *,
    status: EmailStatus = EmailStatus.sent,
    **flags: bool,
) -> EmailLog:
    n = s.info.setdefault("n", [0])
    n[0] += 1
    contact_brand = s.get(Pipeline, deal.pipeline_id)
    assert contact_brand is not None
    log = EmailLog(
        idempotency_key=f"deal-{deal.id}:step-{n[0]}",
        brand_id=contact_brand.brand_id,
        deal_id=deal.id,
        stage_id=stage.id,
        to_email=f"to{n[0]}@example.com",
        subject="Subject",
        variant=variant,
        status=status,
        sent_at=sent,
        created_at=sent or at(2),
        **flags,
    )
    s.add(log)
    s.commit()
    s.refresh(log)
    return log


def _event(s: Session, log: EmailLog | None, kind: EmailEventType, brand: Brand) -> None:
    n = s.info.setdefault("n", [0])
    n[0] += 1
    s.add(
        EmailEvent(
            brand_id=brand.id,
            email_log_id=log.id if log else None,
            deal_id=log.deal_id if log else None,
            event_type=kind,
            source="test",
            dedupe_key=f"e{n[0]}",
            occurred_at=at(6),
        )
    )
    s.commit()


def _decision(
    s: Session,
    brand: Brand,
    deal: Deal | None,
    kind: str,
    action: str,
    when: datetime,
    *,
    model: str = "rules",
    tokens: tuple[int, int] = (0, 0),
) -> None:
    s.add(
        AIDecisionLog(
            brand_id=brand.id,
            deal_id=deal.id if deal else None,
            decision_type=kind,
            action_taken=action,
            reasoning=f"{kind} because",
            model=model,
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
            created_at=when,
        )
    )
    s.commit()


def _brand(s: Session, slug: str) -> Brand:
    """The seeded brand where the database has one (console tests), else a new one."""
    return find_brand(s, slug) or make_brand(s, slug=slug)


def build(s: Session) -> History:
    brand = _brand(s, "codeteki")
    other = _brand(s, "desifirms")
    sales = make_pipeline(s, brand=brand, slug="known-sales", name="Sales")
    st = stages_of(s, sales)  # invited, follow-up-1, responded, won, lost
    st["invited"].template_key = "codeteki/sales/invited"
    st["invited"].subject, st["invited"].subject_variant_b = (
        "Hi {{ contact.first_name }}",
        "Quick idea",
    )
    st["responded"].probability = Decimal("0.5")
    s.add_all([st["invited"], st["responded"]])
    s.commit()
    invited, fu1, responded, won, lost = (
        st[k] for k in ("invited", "follow-up-1", "responded", "won", "lost")
    )

    # Cohort (created in March): d1..d4 on 2 March, d6 on 9 March; d5 in February (outside).
    d1 = _deal(s, brand, sales, invited, at(2), value="1000", tier=EngagementTier.engaged)
    d2 = _deal(s, brand, sales, invited, at(2), value="2000", tier=EngagementTier.ghost)
    d3 = _deal(s, brand, sales, invited, at(2), value="400", tier=EngagementTier.engaged)
    d4 = _deal(s, brand, sales, invited, at(2), value=None, tier=EngagementTier.cold)
    d5 = _deal(s, brand, sales, invited, at(20, month=2), value="9999", tier=EngagementTier.hot)
    d6 = _deal(s, brand, sales, invited, at(9), value="250", tier=EngagementTier.new)
    # d1: invited 48 h, follow-up 1 24 h, responded 24 h, won.
    _move(s, d1, fu1, at(4))
    _move(s, d1, responded, at(5))
    _move(s, d1, won, at(6), status=DealStatus.won)
    # d2: invited 24 h, follow-up 1 96 h, lost (ghost).
    _move(s, d2, fu1, at(3))
    _move(s, d2, lost, at(7), status=DealStatus.lost, lost_reason="ghost")
    # d3: invited 12 h, then replied: responded (still open).
    _move(s, d3, responded, at(2, 22))
    # d4: invited 144 h, lost (not interested).
    _move(s, d4, lost, at(8), status=DealStatus.lost, lost_reason="not interested")
    _move(s, d5, won, at(21, month=2), status=DealStatus.won)

    # Emails sent in March (brand codeteki), L1..L7; L8 failed; L9 in February.
    _log(s, d1, invited, at(2), "A", opened=True, clicked=True, replied=True)  # L1
    _log(s, d2, invited, at(2, 11), "B", machine_opened=True)  # L2
    _log(s, d3, invited, at(2, 12), "B", opened=True, replied=True)  # L3
    _log(s, d4, invited, at(3), "A", bounced=True)  # L4
    _log(s, d1, fu1, at(4), "A", ai_generated=True, opened=True, machine_opened=True)  # L5
    l6 = _log(s, d2, fu1, at(4, 12), "B")  # L6: complained
    l7 = _log(s, d4, invited, at(3, 12), "B")  # L7: unsubscribed
    _log(s, d1, invited, None, "A", status=EmailStatus.failed, opened=True)  # L8
    _log(s, d5, invited, at(20, month=2), "A", opened=True, replied=True)  # L9
    _event(s, l6, EmailEventType.complaint, brand)
    _event(s, l7, EmailEventType.unsubscribe, brand)
    _event(s, l7, EmailEventType.unsubscribe, brand)  # a second click of the link: one email
    _event(s, None, EmailEventType.unsubscribe, brand)  # matched to no email: not counted

    # Reply classifications: d1's is positive, d3's a question.
    _decision(
        s,
        brand,
        d1,
        "classify_reply",
        "interested",
        at(5),
        model="gpt-4o-mini",
        tokens=(2000, 1000),
    )
    _decision(
        s, brand, d3, "classify_reply", "question", at(2, 22), model="heuristic", tokens=(50, 20)
    )
    _decision(s, brand, d1, "analyze_deal", "wait", at(3), model="gpt-4o-mini", tokens=(1000, 500))
    _decision(
        s,
        brand,
        d4,
        "analyze_deal",
        "change_approach",
        at(5),
        model="mystery-model",
        tokens=(100, 100),
    )
    _decision(s, brand, d4, "burnout", "wait_7_days", at(5, 11))
    _decision(s, brand, d2, "ghost", "closed_lost", at(7))
    _decision(s, brand, None, "ab_winner", "promoted B", at(10))
    _decision(s, brand, d5, "ghost", "closed_lost", at(20, month=2))  # before the range

    # The other brand: one deal, one opened email, a ghost and a decided test.
    directory = make_pipeline(s, brand=other, slug="known-directory", name="Directory")
    dst = stages_of(s, directory)
    e1 = _deal(s, other, directory, dst["invited"], at(3), value="75", tier=EngagementTier.hot)
    _log(s, e1, dst["invited"], at(3), "A", opened=True)
    _decision(s, other, e1, "ghost", "closed_lost", at(7))
    _decision(s, other, None, "ab_winner", "promoted A", at(10))
    return History(
        brand=brand,
        other=other,
        sales=sales,
        directory=directory,
        stages=st,
        deals={"d1": d1, "d2": d2, "d3": d3, "d4": d4, "d5": d5, "d6": d6, "e1": e1},
    )
