"""The campaign forecast (issue 14, item 13): when each email of a pipeline's sequence would go
for a list of contacts before they are enrolled, and how many emails a brand's running deals
are expected to send per day, with nothing sent.

It replays the deals' future with the rule functions the workflows and sending use, in time
order, over one brand (whose caps every deal shares):
- the send window in the contact's zone, else the brand's, and the per-deal offset into it
  (`workflows.rules.in_send_window`, `next_send_time`: the autopilot guard's rule 1);
- the follow-up waits by tier, the final one the stage's own (`workflows.cadence.follow_up_wait`);
  the next email is the next sequence stage (`workflows.rules.next_sequence_stage`);
- the daily cap in force (`dealpilot.deals.warmup.effective_cap`), the warm-up's step on each
  new day's first attempt (`warmup.day_step`, held while the brand's bounce rate is over 1%),
  and the retries of a full day or an unfinished gap (`dealpilot.deals.send_limits`).

What it assumes, and so cannot know: every contact stays silent without bouncing (no reply,
no unsubscribe: the sequence runs to its end), the AI says "send" whenever a deal is due,
a new list's contacts never open either (their tiers follow from their sends by
`rules.engagement_tier`, and the ghost guard `rules.is_ghost` stops them), unless a tier is
given to keep throughout; each running deal keeps its own tier; and
the new deals get the ids after the highest deal id, in the order given (the per-deal offsets
depend on the id; a bulk enrolment assigns them so on an unshared database). A brand whose
sending is paused sends nothing until a person resumes it: the forecast says so.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from dealpilot.core.enums import StageKind
from dealpilot.core.errors import Unprocessable
from dealpilot.deals import warmup
from dealpilot.deals.deliverability import brand_rates
from dealpilot.deals.send_limits import cap_retry_at, gap_free_at, gap_retry_at
from dealpilot.deals.store import brand_window, stage_info
from models import Brand, Contact, Deal, DealStatus, EmailLog, EmailStatus, Pipeline, PipelineStage
from workflows import cadence, rules

RUNNING_DAYS = 14
MAX_HORIZON = timedelta(days=120)
AUTOMATIC = (StageKind.entry, StageKind.sequence)
CLAIMED = (EmailStatus.sending, EmailStatus.sent, EmailStatus.unknown)


@dataclass
class PlannedEmail:
    deal_id: int  # assumed for a new deal
    contact_email: str
    stage_id: int
    stage_name: str
    at: datetime  # UTC
    local: str  # in the zone its window was judged in (the contact's, else the brand's)
    held_by: list[str] = field(default_factory=list)  # window / cap / gap, in order met


@dataclass
class DayLoad:
    day: date  # the brand's local day
    running: int = 0  # emails of the deals already running
    new: int = 0  # emails of the contacts forecast
    cap: int = 0  # the daily cap in force that day


@dataclass
class Forecast:
    brand: str
    start: datetime
    paused_reason: str  # not "": the brand is paused and nothing goes until a person resumes
    emails: list[PlannedEmail]  # the new contacts' emails (empty for a running-only forecast)
    days: list[DayLoad]


@dataclass
class _Deal:
    deal_id: int
    email: str
    timezone: str | None
    tier: str | None  # None: a silent contact's, from its sends (`silent_stats`)
    stages: list[rules.StageInfo]
    new: bool
    sent: int = 0  # emails sent so far in the replay

    def stats(self) -> rules.EngagementStats:
        return silent_stats(self.sent)

    def wait_tier(self, now: datetime) -> str:
        """The tier the workflow refreshed at the wake that sent the email just replayed: from
        the emails sent before it."""
        if self.tier is not None:
            return self.tier
        return str(rules.engagement_tier(silent_stats(self.sent - 1), now))


def silent_stats(sent: int) -> rules.EngagementStats:
    """A contact who never opens, clicks or replies, after `sent` emails."""
    return rules.EngagementStats(
        emails_sent=sent,
        emails_opened=0,
        emails_clicked=0,
        replies=0,
        consecutive_unopened=sent,
    )


@dataclass(order=True)
class _Due:
    at: datetime
    seq: int
    deal: _Deal = field(compare=False)
    stage: rules.StageInfo = field(compare=False)  # the stage the email sends the deal into
    held_by: list[str] = field(compare=False, default_factory=list)


class _Replay:
    """The brand's sends in time order, each meeting the window, the cap and the gap."""

    def __init__(self, session: Session, brand: Brand, start: datetime) -> None:
        self.brand, self.start = brand, start
        self.window = brand_window(brand)
        self.zone = ZoneInfo(brand.timezone)
        self.level, self.level_on = brand.warmup_level, brand.warmup_level_on
        self.bounce_rate = brand_rates(session, brand, start).bounce_rate
        midnight = self._midnight(start)
        today, last = session.exec(
            select(func.count(), func.max(EmailLog.sent_at)).where(
                EmailLog.brand_id == brand.id,
                col(EmailLog.status).in_(CLAIMED),
                col(EmailLog.sent_at) >= midnight,
            )
        ).one()
        self.sent: Counter[date] = Counter({midnight.date(): int(today)})
        self.caps: dict[date, int] = {}
        self.last: datetime | None = last
        self.queue: list[_Due] = []
        self.emails: list[PlannedEmail] = []
        self.loads: dict[date, DayLoad] = {}
        self._seq = 0

    def _midnight(self, at: datetime) -> datetime:
        return at.astimezone(self.zone).replace(hour=0, minute=0, second=0, microsecond=0)

    def due(self, at: datetime, deal: _Deal, stage: rules.StageInfo, held: list[str]) -> None:
        self._seq += 1
        heapq.heappush(self.queue, _Due(max(at, self.start), self._seq, deal, stage, held))

    def _cap(self, day: date) -> int:
        """The warm-up's step on the day's first attempt (warmup.day_step), then its cap."""
        if self.brand.warmup_enabled:
            if self.level_on is None:
                self.level_on = day
            else:
                capped = warmup.effective_cap(self.brand, self.level) >= self.brand.daily_cap
                self.level, self.level_on, _ = warmup.day_step(
                    self.level, self.level_on, day, done=capped, bounce_rate=self.bounce_rate
                )
        return self.caps.setdefault(day, warmup.effective_cap(self.brand, self.level))

    def run(self, until: datetime) -> None:
        while self.queue:
            item = heapq.heappop(self.queue)
            now, deal = item.at, item.deal
            if now > until:
                continue
            if not rules.in_send_window(now, self.window, deal.timezone):
                later = rules.next_send_time(now, self.window, deal.deal_id, deal.timezone)
                self.due(later, deal, item.stage, [*item.held_by, "window"])
                continue
            if deal.tier is None and rules.is_ghost(deal.stats()):
                continue  # the autopilot guard closes a silent deal as a ghost: no email
            midnight = self._midnight(now)
            day = midnight.date()
            if self.sent[day] >= self._cap(day):
                retry = cap_retry_at(midnight, self.window, deal.deal_id)
                self.due(retry, deal, item.stage, [*item.held_by, "cap"])
                continue
            free_at = gap_free_at(self.last, self.brand.min_gap_seconds, now)
            if free_at is not None:
                retry = gap_retry_at(free_at, self.brand.min_gap_seconds, deal.deal_id)
                self.due(retry, deal, item.stage, [*item.held_by, "gap"])
                continue
            self._send(item, midnight)

    def _send(self, item: _Due, midnight: datetime) -> None:
        deal, stage, now = item.deal, item.stage, item.at
        deal.sent += 1
        self.sent[midnight.date()] += 1
        self.last = now
        load = self.loads.setdefault(midnight.date(), DayLoad(midnight.date()))
        if deal.new:
            load.new += 1
            zone = rules.resolve_zone(self.window, deal.timezone)
            self.emails.append(
                PlannedEmail(
                    deal.deal_id,
                    deal.email,
                    stage.id,
                    stage.name,
                    now,
                    now.astimezone(zone).strftime("%a %d %b %H:%M %Z"),
                    item.held_by,
                )
            )
        else:
            load.running += 1
        nxt = rules.next_sequence_stage(deal.stages, stage.id)
        if nxt is not None:
            tier = deal.wait_tier(now)
            wait, _final = cadence.follow_up_wait(deal.stages, stage, tier, by_tier=True)
            self.due(now + wait, deal, nxt, [])

    def days(self, first: date, count: int) -> list[DayLoad]:
        out = []
        for n in range(count):
            day = first + timedelta(days=n)
            load = self.loads.get(day, DayLoad(day))
            load.cap = self.caps.get(day) or warmup.effective_cap(self.brand, self.level)
            out.append(load)
        return out


def _stages(session: Session, pipeline_id: int) -> list[rules.StageInfo]:
    rows = session.exec(select(PipelineStage).where(PipelineStage.pipeline_id == pipeline_id)).all()
    return [stage_info(s) for s in rows]


def _running(session: Session, replay: _Replay, brand: Brand, until: datetime) -> None:
    """The brand's active deals waiting on a timer for their next automatic email."""
    rows = session.exec(
        select(Deal, Contact.email, Contact.timezone)
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .join(Pipeline, col(Pipeline.id) == col(Deal.pipeline_id))
        .where(
            col(Pipeline.brand_id) == brand.id,
            col(Deal.status) == DealStatus.active,
            col(Deal.next_action_at).is_not(None),
            col(Deal.next_action_at) <= until,
        )
    ).all()
    stages: dict[int, list[rules.StageInfo]] = {}
    for deal, email, zone in rows:
        if deal.pipeline_id not in stages:
            stages[deal.pipeline_id] = _stages(session, deal.pipeline_id)
        nxt = rules.next_sequence_stage(stages[deal.pipeline_id], deal.stage_id)
        if nxt is None or deal.next_action_at is None:
            continue  # waiting for a person, or its final wait: no email follows
        info = _Deal(
            deal.id or 0, email, zone, str(deal.engagement_tier), stages[deal.pipeline_id], False
        )
        replay.due(deal.next_action_at, info, nxt, [])


def forecast_list(
    session: Session,
    pipeline_id: int,
    contact_ids: list[int],
    *,
    start: datetime,
    tier: str | None = None,
) -> Forecast:
    """The sequence's emails for `contact_ids` (contacts of the pipeline's brand) if enrolled
    at `start`, sharing the brand's caps with its running deals. `tier` None: silent contacts
    (no open, click or reply), their tiers following from their sends as the rules have them
    (a third unopened email makes a ghost the guard closes); else a tier kept throughout."""
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise Unprocessable(f"Pipeline {pipeline_id} does not exist", code="invalid_reference")
    brand = session.get(Brand, pipeline.brand_id)
    assert brand is not None
    stages = _stages(session, pipeline_id)
    entry = next((s for s in sorted(stages, key=lambda s: (s.order, s.id))), None)
    contacts = {
        c.id: c for c in session.exec(select(Contact).where(col(Contact.id).in_(contact_ids))).all()
    }
    wrong = [i for i in contact_ids if i not in contacts or contacts[i].brand_id != brand.id]
    if wrong:
        raise Unprocessable(
            f"Not contacts of {brand.name}: {', '.join(map(str, wrong[:20]))}",
            code="invalid_reference",
        )
    replay = _Replay(session, brand, start)
    horizon = start + MAX_HORIZON
    _running(session, replay, brand, horizon)
    next_id = (session.exec(select(func.max(Deal.id))).one() or 0) + 1
    if entry is not None and entry.kind in AUTOMATIC:
        nxt = rules.next_sequence_stage(stages, entry.id)
        first_at = start + timedelta(days=entry.days_until_followup or 0)  # fresh_memory
        for n, contact_id in enumerate(contact_ids):
            c = contacts[contact_id]
            deal = _Deal(next_id + n, c.email, c.timezone, tier, stages, True)
            if nxt is not None:
                replay.due(first_at, deal, nxt, [])
    return _finish(replay, brand, start, horizon)


def forecast_running(session: Session, brand: Brand, *, start: datetime) -> Forecast:
    """The brand's running deals' expected sends per day for the next RUNNING_DAYS."""
    replay = _Replay(session, brand, start)
    until = start + timedelta(days=RUNNING_DAYS)
    _running(session, replay, brand, until)
    return _finish(replay, brand, start, until)


def _finish(replay: _Replay, brand: Brand, start: datetime, until: datetime) -> Forecast:
    first = replay._midnight(start).date()
    if brand.sending_paused_at is not None:
        return Forecast(
            brand.slug, start, brand.sending_paused_reason, [], replay.days(first, RUNNING_DAYS)
        )
    replay.run(until)
    last = max([first, *replay.loads.keys()])
    count = max(RUNNING_DAYS, (last - first).days + 1)
    emails = sorted(replay.emails, key=lambda e: (e.at, e.deal_id))
    return Forecast(brand.slug, start, "", emails, replay.days(first, count))


def contacts_by_email(
    session: Session, brand_id: int, emails: list[str]
) -> tuple[list[int], list[str]]:
    """The brand's contacts for pasted addresses, in the order given: (ids, addresses unknown)."""
    wanted = [e.strip().lower() for e in emails if e.strip()]
    rows = session.exec(
        select(Contact.id, Contact.email).where(
            Contact.brand_id == brand_id, func.lower(Contact.email).in_(wanted)
        )
    ).all()
    found = {email.lower(): cid for cid, email in rows}
    ids, unknown = [], []
    for email in dict.fromkeys(wanted):
        if email in found:
            ids.append(found[email] or 0)
        else:
            unknown.append(email)
    return ids, unknown
