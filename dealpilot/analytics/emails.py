"""Email performance: of the emails sent in the date range (status `sent`), how many were
delivered, opened by a person (machine opens apart), clicked, replied to (and positively),
bounced, complained about and unsubscribed from; by brand, pipeline, stage, template, A/B
variant and day. The counts come from the `emaildaily` rollup (triggers on `emaillog`);
complaints and unsubscribes from the events linked to the emails, positive replies from the
reply classifications in the AI decision log.

Definitions: delivered = sent − bounced (providers do not all report delivery). A positive
reply is a replied email whose deal has a reply classified `interested` at or after the send.
Every rate is a fraction of `sent`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, NamedTuple

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import Session, col

from dealpilot.analytics.common import Applied, as_day, day_of
from dealpilot.analytics.filters import Filters, rate
from models import (
    AIDecisionLog,
    Brand,
    Deal,
    EmailDaily,
    EmailEvent,
    EmailEventType,
    EmailLog,
    EmailStatus,
    Pipeline,
    PipelineStage,
)

POSITIVE = ("interested", "interested (held for a person)")
AI_TEMPLATE = "AI-written"
COUNTS = (
    "sent",
    "delivered",
    "opened",
    "machine_opened",
    "clicked",
    "replied",
    "positive_replied",
    "bounced",
    "complained",
    "unsubscribed",
)


@dataclass(slots=True)
class Tally:
    sent: int = 0
    opened: int = 0
    machine_opened: int = 0
    clicked: int = 0
    replied: int = 0
    positive_replied: int = 0
    bounced: int = 0
    complained: int = 0
    unsubscribed: int = 0

    def add(self, other: Tally) -> None:
        # Spelled out: called for every rollup row of every grouping.
        self.sent += other.sent
        self.opened += other.opened
        self.machine_opened += other.machine_opened
        self.clicked += other.clicked
        self.replied += other.replied
        self.positive_replied += other.positive_replied
        self.bounced += other.bounced
        self.complained += other.complained
        self.unsubscribed += other.unsubscribed


class EmailFigures(BaseModel):
    key: str  # what the row counts: a brand slug, a pipeline id, a stage id, a template, ...
    label: str
    sent: int
    delivered: int
    opened: int  # by a person (bots and machine opens excluded)
    machine_opened: int  # fetched by Apple Mail Privacy Protection: no sign of a reader
    clicked: int
    replied: int
    positive_replied: int
    bounced: int
    complained: int
    unsubscribed: int
    delivery_rate: float
    open_rate: float
    machine_open_rate: float
    click_rate: float
    reply_rate: float
    positive_reply_rate: float
    bounce_rate: float
    complaint_rate: float
    unsubscribe_rate: float

    @classmethod
    def of(cls, key: str, label: str, t: Tally) -> EmailFigures:
        delivered = t.sent - t.bounced
        values: dict[str, Any] = {f.name: getattr(t, f.name) for f in fields(t)}
        rates: dict[str, float] = {"delivery_rate": rate(delivered, t.sent)}
        rates.update(
            open_rate=rate(t.opened, t.sent),
            machine_open_rate=rate(t.machine_opened, t.sent),
            click_rate=rate(t.clicked, t.sent),
            reply_rate=rate(t.replied, t.sent),
            positive_reply_rate=rate(t.positive_replied, t.sent),
            bounce_rate=rate(t.bounced, t.sent),
            complaint_rate=rate(t.complained, t.sent),
            unsubscribe_rate=rate(t.unsubscribed, t.sent),
        )
        return cls(key=key, label=label, delivered=delivered, **values, **rates)


class EmailPerformance(BaseModel):
    filters: Applied
    total: EmailFigures
    by_brand: list[EmailFigures]
    by_pipeline: list[EmailFigures]
    by_stage: list[EmailFigures]
    by_template: list[EmailFigures]
    by_variant: list[EmailFigures]
    by_day: list[EmailFigures]  # every day of the range, quiet days included


class Cell(NamedTuple):
    """One rollup key: what a group of emails shares (a tuple: hashed thousands of times)."""

    day: date
    brand_id: int
    pipeline_id: int
    stage_id: int
    variant: str
    ai_generated: bool


@dataclass
class Cells:
    tallies: dict[Cell, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def grouped(self, key: Any) -> dict[Any, Tally]:
        out: dict[Any, Tally] = defaultdict(Tally)
        for cell, tally in self.tallies.items():
            out[key(cell)].add(tally)
        return out


ALL_KEYS = Cell._fields
NOT_DAY = ALL_KEYS[1:]
MEASURES = ("sent", "opened", "machine_opened", "clicked", "replied", "bounced")


def collect(
    session: Session,
    filters: Filters,
    *,
    stage_id: int | None = None,
    keep: tuple[str, ...] = ALL_KEYS,
    flags: list[tuple[Cell, Tally]] | None = None,
) -> Cells:
    """The tallies of the emails sent in the range, per rollup key; only the key fields in
    `keep` apart (the database sums the others away; they read as the range's first day, 0,
    '' or False). `flags`: the complaints, unsubscribes and positive replies when already read
    (`flagged`)."""
    blank = Cell(filters.start, 0, 0, 0, "", False)
    kept = [getattr(EmailDaily, k) for k in keep]
    daily = select(*kept, *(func.sum(getattr(EmailDaily, m)) for m in MEASURES)).where(
        col(EmailDaily.brand_id).in_(filters.brand_ids),
        col(EmailDaily.day) >= filters.start,
        col(EmailDaily.day) <= filters.end,
    )
    if filters.pipeline_id is not None:
        daily = daily.where(col(EmailDaily.pipeline_id) == filters.pipeline_id)
    if stage_id is not None:
        daily = daily.where(col(EmailDaily.stage_id) == stage_id)
    cells = Cells()
    for row in session.execute(daily.group_by(*kept)).all():
        key = dict(zip(keep, row, strict=False))
        if "day" in key:
            key["day"] = as_day(key["day"])
        if "ai_generated" in key:
            key["ai_generated"] = bool(key["ai_generated"])
        sent, opened, machine, clicked, replied, bounced = (int(n) for n in row[len(keep) :])
        cells.tallies[blank._replace(**key)] = Tally(
            sent, opened, machine, clicked, replied, 0, bounced
        )
    mask = [k in keep for k in ALL_KEYS]
    for cell, tally in flagged(session, filters, stage_id=stage_id) if flags is None else flags:
        if keep != ALL_KEYS:
            cell = Cell._make([v if m else b for v, m, b in zip(cell, mask, blank, strict=True)])
        cells.tallies[cell].add(tally)
    return cells


def flagged(
    session: Session, filters: Filters, *, stage_id: int | None = None
) -> list[tuple[Cell, Tally]]:
    """Per rollup key, the emails of the range complained about, unsubscribed from and replied
    to positively: from the events and decisions (a few per thousand emails)."""
    out: list[tuple[Cell, Tally]] = []
    keys = (
        day_of(session, EmailLog.sent_at),
        col(EmailLog.brand_id),
        func.coalesce(col(Deal.pipeline_id), 0),
        func.coalesce(col(EmailLog.stage_id), 0),
        col(EmailLog.variant),
        col(EmailLog.ai_generated),
    )
    where = [
        col(EmailLog.status) == EmailStatus.sent,
        col(EmailLog.brand_id).in_(filters.brand_ids),
        col(EmailLog.sent_at) >= filters.since,
        col(EmailLog.sent_at) < filters.until,
    ]
    if filters.pipeline_id is not None:
        where.append(col(Deal.pipeline_id) == filters.pipeline_id)
    if stage_id is not None:
        where.append(col(EmailLog.stage_id) == stage_id)

    events = (
        select(
            *keys, col(EmailEvent.event_type), func.count(func.distinct(EmailEvent.email_log_id))
        )
        .select_from(EmailEvent)
        .join(EmailLog, col(EmailLog.id) == col(EmailEvent.email_log_id))
        .outerjoin(Deal, col(Deal.id) == col(EmailLog.deal_id))
        .where(
            col(EmailEvent.event_type).in_([EmailEventType.complaint, EmailEventType.unsubscribe]),
            *where,
        )
        .group_by(*keys, col(EmailEvent.event_type))
    )
    for *key, kind, n in session.execute(events).all():
        if kind == EmailEventType.complaint:
            out.append((_cell(key), Tally(complained=n)))
        else:
            out.append((_cell(key), Tally(unsubscribed=n)))

    positive = (
        select(*keys, func.count(func.distinct(EmailLog.id)))
        .select_from(AIDecisionLog)
        .join(EmailLog, col(EmailLog.deal_id) == col(AIDecisionLog.deal_id))
        .outerjoin(Deal, col(Deal.id) == col(EmailLog.deal_id))
        .where(
            col(AIDecisionLog.decision_type) == "classify_reply",
            col(AIDecisionLog.action_taken).in_(POSITIVE),
            col(AIDecisionLog.created_at) >= col(EmailLog.sent_at),
            # Implied (sent in the range, classified after): bounds the index scan.
            col(AIDecisionLog.created_at) >= filters.since,
            col(EmailLog.replied).is_(True),
            *where,
        )
        .group_by(*keys)
    )
    for *key, n in session.execute(positive).all():
        out.append((_cell(key), Tally(positive_replied=n)))
    return out


def _cell(key: list[Any]) -> Cell:
    day, brand_id, pipeline_id, stage_id, variant, ai = key
    return Cell(as_day(day), brand_id, pipeline_id, stage_id, variant, bool(ai))


def variant_of(cell: Cell) -> str:
    return cell.variant or "A"


def email_performance(session: Session, filters: Filters) -> EmailPerformance:
    flags = flagged(session, filters)
    cells = collect(session, filters, keep=NOT_DAY, flags=flags)
    per_day = collect(session, filters, keep=("day",), flags=flags)
    brands: dict[int, str] = dict(session.execute(select(col(Brand.id), col(Brand.slug))).all())
    names: dict[int, str] = dict(
        session.execute(select(col(Pipeline.id), col(Pipeline.name))).all()
    )
    stage_ids = {c.stage_id for c in cells.tallies}
    stages = {
        s.id: s
        for (s,) in session.execute(
            select(PipelineStage).where(col(PipelineStage.id).in_(stage_ids))
        ).all()
    }

    def template(cell: Cell) -> str:
        if cell.ai_generated:
            return AI_TEMPLATE
        stage = stages.get(cell.stage_id)
        if stage is None:
            return "(no stage)"
        return stage.template_key or f"{stage.name} (stage template)"

    def stage_label(sid: int) -> str:
        stage = stages.get(sid)
        if stage is None:
            return "(no stage)"
        return f"{names.get(stage.pipeline_id, '?')} · {stage.name}"

    total = Tally()
    for t in cells.tallies.values():
        total.add(t)
    by_day = per_day.grouped(lambda c: c.day)
    days = [
        filters.start.fromordinal(d)
        for d in range(filters.start.toordinal(), filters.end.toordinal() + 1)
    ]
    return EmailPerformance(
        filters=Applied.of(filters),
        total=EmailFigures.of("total", "All emails", total),
        by_brand=[
            EmailFigures.of(str(b), brands.get(b, str(b)), t)
            for b, t in sorted(cells.grouped(lambda c: c.brand_id).items())
        ],
        by_pipeline=[
            EmailFigures.of(str(p), names.get(p, "(no pipeline)"), t)
            for p, t in sorted(cells.grouped(lambda c: c.pipeline_id).items())
        ],
        by_stage=[
            EmailFigures.of(str(s), stage_label(s), t)
            for s, t in sorted(cells.grouped(lambda c: c.stage_id).items())
        ],
        by_template=[EmailFigures.of(k, k, t) for k, t in sorted(cells.grouped(template).items())],
        by_variant=[
            EmailFigures.of(k, f"Variant {k}", t)
            for k, t in sorted(cells.grouped(variant_of).items())
        ],
        by_day=[
            EmailFigures.of(d.isoformat(), d.isoformat(), by_day.get(d, Tally())) for d in days
        ],
    )
