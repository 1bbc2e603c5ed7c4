"""The ledger's totals: emails by brand, provider and status, and AI calls and tokens by model,
read in the caller's session (the API's `/metrics` turns them into Prometheus series)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from dealpilot.deals.warmup import effective_cap
from models import AIDecisionLog, Brand, EmailLog


@dataclass(frozen=True)
class EmailTotal:
    brand: str
    provider: str | None
    status: str
    count: int


@dataclass(frozen=True)
class AITotal:
    model: str | None
    calls: int
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class BrandSending:
    brand: str
    paused: bool  # paused by the deliverability guard, until a person resumes it
    daily_cap: int  # the effective cap (the warm-up's while warming up)


@dataclass(frozen=True)
class LedgerTotals:
    emails: list[EmailTotal]
    ai: list[AITotal]
    sending: list[BrandSending] = field(default_factory=list)


def ledger_totals(session: Session) -> LedgerTotals:
    email_rows = session.exec(
        select(Brand.slug, EmailLog.provider, EmailLog.status, func.count())
        .join(Brand, col(Brand.id) == col(EmailLog.brand_id))
        .group_by(Brand.slug, EmailLog.provider, EmailLog.status)
    ).all()
    ai_rows = session.exec(
        select(
            AIDecisionLog.model,
            func.count(),
            func.coalesce(func.sum(AIDecisionLog.prompt_tokens), 0),
            func.coalesce(func.sum(AIDecisionLog.completion_tokens), 0),
        ).group_by(AIDecisionLog.model)
    ).all()
    return LedgerTotals(
        emails=[
            EmailTotal(slug, provider, str(status), count)
            for slug, provider, status, count in email_rows
        ],
        ai=[
            AITotal(model, count, int(prompt), int(completion))
            for model, count, prompt, completion in ai_rows
        ],
        sending=[
            BrandSending(b.slug, b.sending_paused_at is not None, effective_cap(b))
            for b in session.exec(select(Brand).order_by(col(Brand.slug))).all()
        ],
    )
