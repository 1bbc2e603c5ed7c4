"""The deliverability guard: rolling bounce, complaint and unsubscribe rates per brand and per
recipient domain, and a brand's sending paused by itself when they cross a limit, until a
person resumes it.

The window: the sends (`EmailLog` rows `sent`) of the last RATE_WINDOW (7 days), counted from
the last resume if that is later (a person who resumed has seen the figures: the guard then
judges the sends after it). Bounces are those sends flagged `bounced`; complaints and
unsubscribes are the brand's complaint/unsubscribe events received in the same window (one per
address). The brand pauses itself on a send attempt (`gate`, called by `Sender._claim` under the
brand's row lock) when its bounce rate is over 2% with at least 20 sends, or its complaint rate
is over 0.1% (from the first send: one complaint in fewer than 1,000 sends is over it). A paused
brand's sends are deferred like a full daily cap (`SendOutcome` `deferred`, the deal sleeps and
tries again every PAUSE_RECHECK within its window): nothing is dropped, and the deals send once
resumed. Each pause and resume is logged in the decision log with its figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, union_all
from sqlmodel import Session, col, select

from dealpilot.core.errors import Conflict
from dealpilot.core.metrics import record_brand_paused
from dealpilot.deals import warmup
from dealpilot.deals.store import brand_window
from models import (
    AIDecisionLog,
    Brand,
    BrandSendHour,
    EmailEvent,
    EmailEventType,
    EmailLog,
    EmailStatus,
)
from workflows.contracts import SendOutcome
from workflows.rules import next_send_time

RATE_WINDOW = timedelta(days=7)
BOUNCE_LIMIT = 0.02
BOUNCE_MIN_SENDS = 20
COMPLAINT_LIMIT = 0.001
PAUSE_RECHECK = timedelta(hours=1)
_FLAGGED = (EmailEventType.complaint, EmailEventType.unsubscribe)


@dataclass(frozen=True)
class Rates:
    scope: str  # the brand's slug, or a recipient domain
    sends: int
    bounces: int
    complaints: int
    unsubscribes: int

    def _rate(self, n: int) -> float:
        return n / self.sends if self.sends else 0.0

    @property
    def bounce_rate(self) -> float:
        return self._rate(self.bounces)

    @property
    def complaint_rate(self) -> float:
        return self._rate(self.complaints)

    @property
    def unsubscribe_rate(self) -> float:
        return self._rate(self.unsubscribes)

    def figures(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "bounce_rate": round(self.bounce_rate, 4),
            "complaint_rate": round(self.complaint_rate, 4),
            "unsubscribe_rate": round(self.unsubscribe_rate, 4),
        }


def window_start(brand: Brand, now: datetime) -> datetime:
    since = now - RATE_WINDOW
    resumed = brand.sending_resumed_at
    return max(since, resumed) if resumed is not None else since


def _sent_in_window(brand: Brand, since: datetime) -> Any:
    return (
        col(EmailLog.brand_id) == brand.id,
        col(EmailLog.status) == EmailStatus.sent,
        col(EmailLog.sent_at) >= since,
    )


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def first_whole_hour(since: datetime) -> int:
    """The first hour (hours since 1970, as `BrandSendHour.hour`) wholly at or after `since`."""
    hour = (since - EPOCH) // HOUR
    return hour if EPOCH + hour * HOUR == since else hour + 1


def brand_rates(session: Session, brand: Brand, now: datetime) -> Rates:
    """The brand's figures of its window: the sends and bounces of its whole hours from the
    `brandsendhour` rollup (kept by triggers on `emaillog`, migration 0016), those of the part
    hour at the window's start from the email logs; a few rows whatever the volume."""
    since = window_start(brand, now)
    hour = first_whole_hour(since)
    whole_hours: Any = select(
        col(BrandSendHour.sent).label("sent"), col(BrandSendHour.bounced).label("bounced")
    ).where(col(BrandSendHour.brand_id) == brand.id, col(BrandSendHour.hour) >= hour)
    part_hour = select(
        func.count().label("sent"),
        func.count().filter(col(EmailLog.bounced).is_(True)).label("bounced"),
    ).where(*_sent_in_window(brand, since), col(EmailLog.sent_at) < EPOCH + hour * HOUR)
    both = union_all(whole_hours, part_hour).subquery()
    sends, bounces = session.execute(
        select(func.coalesce(func.sum(both.c.sent), 0), func.coalesce(func.sum(both.c.bounced), 0))
    ).one()
    flagged = dict(
        session.exec(
            select(EmailEvent.event_type, func.count(func.distinct(EmailEvent.email)))
            .where(
                col(EmailEvent.brand_id) == brand.id,
                col(EmailEvent.event_type).in_(_FLAGGED),
                col(EmailEvent.occurred_at) >= since,
            )
            .group_by(EmailEvent.event_type)
        ).all()
    )
    return Rates(
        brand.slug,
        int(sends),
        int(bounces),
        int(flagged.get(EmailEventType.complaint, 0)),
        int(flagged.get(EmailEventType.unsubscribe, 0)),
    )


def _domain(address: str | None) -> str:
    return (address or "").rpartition("@")[2].lower() or "(unknown)"


def domain_rates(session: Session, brand: Brand, now: datetime) -> list[Rates]:
    """The same figures per recipient domain, most sends first (for people to read)."""
    since = window_start(brand, now)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for to_email, bounced in session.exec(
        select(EmailLog.to_email, EmailLog.bounced).where(*_sent_in_window(brand, since))
    ).all():
        row = counts[_domain(to_email)]
        row[0] += 1
        row[1] += 1 if bounced else 0
    events = session.exec(
        select(EmailEvent.event_type, EmailEvent.email)
        .where(
            col(EmailEvent.brand_id) == brand.id,
            col(EmailEvent.event_type).in_(_FLAGGED),
            col(EmailEvent.occurred_at) >= since,
        )
        .distinct()
    ).all()
    for kind, email in events:
        counts[_domain(email)][2 if kind == EmailEventType.complaint else 3] += 1
    rows = [Rates(domain, *n) for domain, n in counts.items()]
    return sorted(rows, key=lambda r: (-r.sends, r.scope))


def breach(rates: Rates) -> tuple[str, str] | None:
    """(cause, reason) when the rates call for a pause, else None."""
    if rates.sends >= BOUNCE_MIN_SENDS and rates.bounce_rate > BOUNCE_LIMIT:
        return "bounces", (
            f"bounce rate {rates.bounce_rate:.1%} ({rates.bounces} of {rates.sends} sends in "
            f"{RATE_WINDOW.days} days) is over {BOUNCE_LIMIT:.0%}"
        )
    if rates.sends > 0 and rates.complaint_rate > COMPLAINT_LIMIT:
        return "complaints", (
            f"complaint rate {rates.complaint_rate:.2%} ({rates.complaints} of {rates.sends} "
            f"sends in {RATE_WINDOW.days} days) is over {COMPLAINT_LIMIT:.1%}"
        )
    return None


def _log(
    session: Session, brand: Brand, kind: str, action: str, why: str, meta: dict[str, Any]
) -> None:
    session.add(
        AIDecisionLog(
            brand_id=brand.id,
            decision_type=kind,
            action_taken=action,
            reasoning=why,
            meta=meta,
            model="guard",
        )
    )


def gate(session: Session, brand: Brand, deal_id: int, now: datetime) -> SendOutcome | None:
    """Before a send, with the brand row locked: pause the brand if its rates cross a limit,
    move its warm-up on a new day, and defer the send while the brand is paused (None: go)."""
    if brand.sending_paused_at is None:
        rates = brand_rates(session, brand, now)
        crossed = breach(rates)
        if crossed is None:
            warmup.advance(session, brand, now, bounce_rate=rates.bounce_rate, sends=rates.sends)
            return None
        cause, reason = crossed
        brand.sending_paused_at, brand.sending_paused_reason = now, reason[:500]
        session.add(brand)
        _log(
            session,
            brand,
            "deliverability_pause",
            f"paused:{cause}",
            f"Sending paused for {brand.name}: {reason}",
            {**rates.figures(), "cause": cause, "since": window_start(brand, now).isoformat()},
        )
        record_brand_paused(brand.slug, cause)
    retry_at = next_send_time(now + PAUSE_RECHECK, brand_window(brand), deal_id)
    return SendOutcome(
        status="deferred",
        retry_at=retry_at,
        detail=f"sending paused for {brand.name}: {brand.sending_paused_reason}",
    )


def resume(session: Session, brand: Brand, now: datetime, *, by: str) -> Brand:
    """A person resumes a paused brand; the rates count afresh from now (flushed)."""
    if brand.sending_paused_at is None:
        raise Conflict(f"{brand.name}'s sending is not paused", code="not_paused")
    rates = brand_rates(session, brand, now)
    _log(
        session,
        brand,
        "deliverability_resume",
        "resumed",
        f"Sending resumed for {brand.name} by {by} (paused: {brand.sending_paused_reason})",
        {**rates.figures(), "paused_at": brand.sending_paused_at.isoformat(), "by": by},
    )
    # Never before the pause: the sends that paused it stay behind the new window.
    brand.sending_resumed_at = max(now, brand.sending_paused_at)
    brand.sending_paused_at, brand.sending_paused_reason = None, ""
    session.add(brand)
    session.flush()
    return brand


@dataclass(frozen=True)
class BrandHealth:
    """What the console, REST and the daily summary show of a brand's deliverability."""

    brand: str
    name: str
    brand_id: int
    paused_at: datetime | None
    paused_reason: str
    rates: Rates
    domains: list[Rates]
    warmup: warmup.WarmupStatus

    def summary(self) -> dict[str, Any]:
        return {
            "paused": self.paused_at is not None,
            "paused_at": self.paused_at.isoformat() if self.paused_at else None,
            "paused_reason": self.paused_reason,
            "window_days": RATE_WINDOW.days,
            **self.rates.figures(),
            "warmup": {**asdict(self.warmup), "started_on": str(self.warmup.started_on or "")},
        }


def health(session: Session, brand: Brand, now: datetime, *, domains: bool = True) -> BrandHealth:
    return BrandHealth(
        brand=brand.slug,
        name=brand.name,
        brand_id=brand.id or 0,
        paused_at=brand.sending_paused_at,
        paused_reason=brand.sending_paused_reason,
        rates=brand_rates(session, brand, now),
        domains=domain_rates(session, brand, now) if domains else [],
        warmup=warmup.status(brand),
    )
