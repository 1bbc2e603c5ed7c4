"""A deal's whole state as one dataclass (carried across continue-as-new), and the pure
functions that read it: the `state` query, the timeline, the Web UI texts, search attributes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio.common import SearchAttributeUpdate

from dealpilot.core.enums import DealStatus
from workflows import search_attributes as sa
from workflows.contracts import DealStateView, SequencePlan, SequenceStepPlan, TimelineEntry

TIMELINE_LIMIT = 200
SEEN_EVENTS_LIMIT = 1000


@dataclass
class PendingReview:
    """An email held for human review: drafted for (deal, `step`) into `stage_id`.
    `on_enter`: the stage's entry email (send_on_enter) rather than a move into the stage."""

    draft_id: int
    stage_id: int
    stage_name: str
    step: int
    since: datetime
    subject: str = ""
    on_enter: bool = False
    approved: bool = False  # approved (or edited) but not sent yet: window, cap or gap


@dataclass
class DealMemory:
    deal_id: int
    brand: str
    pipeline: str
    contact_email: str
    contact_name: str
    stage_id: int
    stage_name: str
    status: str
    tier: str
    stage_entered_at: datetime
    next_action_at: datetime | None
    next_action_reason: str
    steps: int = 0
    emails_sent: int = 0
    opens: int = 0
    clicks: int = 0
    replies: int = 0
    soft_bounces: int = 0
    last_decision: str = ""
    lost_reason: str = ""
    paused_until: datetime | None = None
    approach_note: str | None = None
    send_on_enter_pending: bool = False
    burnout_waited: bool = False
    # A person-written first email (composer): used by the deal's first send, then cleared.
    first_draft_id: int | None = None
    # A one-off composer email's deal: it sends that email and schedules no follow-ups.
    one_off: bool = False
    # The next action is the follow-up timer, planned from this stage wait (workflows.cadence).
    follow_up_days: int | None = None
    review: PendingReview | None = None
    # The email sequence the deal was enrolled with (snapshotted at start), and how many of
    # its steps went (workflows.sequences).
    sequence: SequencePlan | None = None
    sequence_sent: int = 0
    seen_events: list[int] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)


@dataclass
class DealInput:
    """`draft_id`: an EmailDraft (composer) whose subject/body become the deal's first email
    instead of the first stage email; later follow-ups are the pipeline's own. Only read on a
    fresh start (a continued run carries it in `memory.first_draft_id`)."""

    deal_id: int
    memory: DealMemory | None = None
    # Test switch: continue-as-new after this many actions, as if Temporal had suggested it.
    continue_as_new_after: int | None = None
    draft_id: int | None = None
    one_off: bool = False  # with draft_id: no follow-ups after it (memory.one_off)
    # The deal's email sequence, snapshotted when it was started (workflows.sequences).
    sequence: SequencePlan | None = None


def note(m: DealMemory, at: datetime, kind: str, text: str) -> None:
    m.timeline.append(TimelineEntry(at=at, kind=kind, text=text))
    del m.timeline[:-TIMELINE_LIMIT]


def already_seen(m: DealMemory, event_id: int | None) -> bool:
    """Stored events carry their EmailEvent id: a redelivered one (the intake relay retrying
    after a lost acknowledgement) is acted on once only."""
    if event_id is None:
        return False
    if event_id in m.seen_events:
        return True
    m.seen_events.append(event_id)
    del m.seen_events[:-SEEN_EVENTS_LIMIT]
    return False


def state_view(m: DealMemory) -> DealStateView:
    return DealStateView(
        deal_id=m.deal_id,
        brand=m.brand,
        pipeline=m.pipeline,
        contact_email=m.contact_email,
        stage=m.stage_name,
        stage_id=m.stage_id,
        status=m.status,
        tier=m.tier,
        next_action_at=m.next_action_at,
        next_action_reason=m.next_action_reason,
        emails_sent=m.emails_sent,
        opens=m.opens,
        clicks=m.clicks,
        replies=m.replies,
        last_decision=m.last_decision,
        stage_entered_at=m.stage_entered_at,
        lost_reason=m.lost_reason,
        paused_until=m.paused_until,
        review_draft_id=m.review.draft_id if m.review else None,
        sequence_step=pending_step(m),
    )


def pending_step(m: DealMemory) -> SequenceStepPlan | None:
    """The step of the deal's email sequence its next automatic email is, or None (no
    sequence, or every step went)."""
    plan = m.sequence
    if plan is None or m.sequence_sent >= len(plan.steps):
        return None
    return plan.steps[m.sequence_sent]


def wait_summary(m: DealMemory, now: datetime) -> str:
    """What the Web UI shows on the deal's timer."""
    if m.status == DealStatus.paused:
        until = m.paused_until
        return f"paused until {until:%a %d %b %H:%M} UTC" if until else "paused"
    review = m.review
    if review is not None and not review.approved:
        return f"{m.stage_name}: {review.stage_name} email waits for review ({review.draft_id})"
    if m.next_action_at is None:
        return f"{m.stage_name}: waiting for a person or a reply"
    return f"{m.stage_name}: {m.next_action_reason} in {human(m.next_action_at - now)}"


def current_details(m: DealMemory) -> str:
    nxt = (
        f"{m.next_action_reason} at {m.next_action_at:%Y-%m-%d %H:%M} UTC"
        if m.next_action_at
        else m.next_action_reason
    )
    review = ""
    if m.review is not None:
        state = "approved, to be sent" if m.review.approved else "waiting for review"
        review = (
            f"\n\nReview: draft {m.review.draft_id} \u201c{m.review.subject}\u201d "
            f"({m.review.stage_name}) {state} since {m.review.since:%Y-%m-%d %H:%M} UTC"
        )
    return (
        f"**{m.contact_name or m.contact_email}** · {m.pipeline} · **{m.stage_name}** "
        f"({m.status}, tier {m.tier})\n\n"
        f"Next: {nxt}\n\nEmails sent {m.emails_sent} · opens {m.opens} · "
        f"clicks {m.clicks} · replies {m.replies}\n\nLast decision: {m.last_decision or '-'}"
        f"{review}"
    )


def search_attribute_updates(m: DealMemory) -> list[SearchAttributeUpdate[Any]]:
    return [
        sa.DEAL_STAGE.value_set(m.stage_name),
        sa.DEAL_STATUS.value_set(m.status),
        sa.BRAND.value_set(m.brand),
        sa.PIPELINE.value_set(m.pipeline),
        sa.ENGAGEMENT_TIER.value_set(m.tier),
        sa.CONTACT_EMAIL.value_set(m.contact_email),
        sa.NEXT_ACTION_AT.value_set(m.next_action_at)
        if m.next_action_at
        else sa.NEXT_ACTION_AT.value_unset(),
    ]


def human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        days = round(seconds / 86400, 1)
        return f"{days:g} day{'s' if days != 1 else ''}"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{max(seconds, 0) // 60} min"
