"""Inputs and results that cross the workflow/activity boundary. Plain data, no I/O.

Every field has a default where that is possible, so fields can be added without breaking
running deals (their histories hold the old shape).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from dealpilot.core.enums import ReviewAction
from workflows.rules import EngagementStats, SendWindow, StageInfo


@dataclass
class DealContext:
    deal_id: int
    brand_id: int
    brand_slug: str
    brand_name: str
    pipeline_id: int
    pipeline_name: str
    contact_id: int
    contact_email: str
    contact_name: str
    contact_timezone: str | None
    window: SendWindow
    stages: list[StageInfo]
    stage_id: int
    status: str
    suppressed: bool = False
    suppression_reason: str | None = None
    human_review: bool = False


@dataclass
class Engagement:
    stats: EngagementStats
    tier: str


@dataclass
class DealSnapshot:
    """What the workflow writes back to the deal row (the DB mirrors the workflow)."""

    deal_id: int
    stage_id: int
    status: str
    engagement_tier: str
    next_action_at: datetime | None
    next_action_reason: str
    stage_entered_at: datetime
    lost_reason: str = ""
    ai_notes: str | None = None


@dataclass
class AnalyzeRequest:
    deal_id: int
    tier: str
    stats: EngagementStats
    days_in_stage: int
    approach_note: str | None = None


@dataclass
class AnalyzeResult:
    action: str  # send_email | wait | change_approach | pause | flag_for_review
    reasoning: str
    wait_days: int | None = None
    approach_note: str | None = None
    model: str = ""


@dataclass
class SequenceStepPlan:
    """One step of an email sequence as snapshotted into a deal's workflow at its start:
    `delay_days` after the previous step (after enrolment for the first), then this email
    (sandboxed template strings, rendered like a composer draft's)."""

    order: int
    delay_days: int
    subject: str
    body: str


@dataclass
class SequencePlan:
    """The EmailSequence a deal was enrolled with, frozen at the workflow's start: editing the
    sequence later changes new deals only."""

    sequence_id: int
    name: str
    steps: list[SequenceStepPlan] = field(default_factory=list)


@dataclass
class SendRequest:
    deal_id: int
    stage_id: int  # the stage whose email goes out
    step: int  # the deal's send counter: (deal, step) is the idempotency key
    variant: str  # "A" | "B"
    approach_note: str | None = None
    # An EmailDraft whose subject/body go out instead of the stage's own email (a composer
    # email, or an autopilot email a person approved/edited in the review queue). Rendered
    # for the deal's contact through the sandbox, with the stage email's tracking and
    # unsubscribe handling; the (deal, step) ledger still makes it once-only.
    draft_id: int | None = None
    # A suggested reply (`draft_id`) sent as an answer in the contact's thread: "Re:" subject,
    # In-Reply-To/References of the contact's message; once-only per (deal, draft), not per
    # step, and it moves no stage.
    reply: bool = False
    # The deal's engagement tier as the workflow knows it at the send: picks the stage's
    # tier template (StageTierTemplate). "": the deal row's tier.
    tier: str = ""
    # A deal enrolled with an email sequence: this step's subject/body go out instead of the
    # stage's own email.
    sequence_step: SequenceStepPlan | None = None


@dataclass
class SendOutcome:
    # sent | suppressed | deferred | failed | unknown | review
    status: str
    email_log_id: int | None = None
    message_id: str | None = None
    subject: str = ""
    retry_at: datetime | None = None
    detail: str = ""


@dataclass
class ReplyEvent:
    text: str
    subject: str = ""
    from_email: str = ""
    received_at: datetime | None = None
    email_log_id: int | None = None
    event_id: int | None = None
    # The mail's classification headers (Auto-Submitted, Precedence, ...), lower-case names.
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ReplyRequest:
    deal_id: int
    reply: ReplyEvent


@dataclass
class ReplyVerdict:
    intent: str  # a dealpilot.core.enums.ReplyIntent value
    sentiment: str
    summary: str
    return_date: date | None = None
    suggested_reply: str | None = None
    confidence: float = 1.0
    # Below the review threshold: a person reads the reply before the deal acts on it.
    needs_person: bool = False
    new_address: str | None = None  # referral: the address the reply points to


@dataclass
class BounceEvent:
    hard: bool = True
    reason: str = ""
    email_log_id: int | None = None
    event_id: int | None = None


@dataclass
class EngagementEvent:
    """An open or click, as the tracking endpoints or webhooks saw it."""

    email_log_id: int | None = None
    url: str | None = None
    is_bot: bool = False
    event_id: int | None = None
    machine: bool = False  # an Apple Mail Privacy Protection prefetch, not a person


@dataclass
class EventRef:
    """Names the stored EmailEvent behind a signal without a payload of its own."""

    event_id: int | None = None


@dataclass
class SuppressRequest:
    deal_id: int
    reason: str  # unsubscribed | hard_bounce | complaint | manual
    detail: str = ""


@dataclass
class DecisionRecord:
    deal_id: int
    decision_type: str
    action_taken: str
    reasoning: str
    metadata: dict[str, object] = field(default_factory=dict)


@dataclass
class DraftReplyRequest:
    deal_id: int
    reply: ReplyEvent
    suggested_reply: str | None
    review_note: str | None = None  # why a person should look (a low-confidence reading)


@dataclass
class MoveStageRequest:
    stage_id: int | None = None
    stage: str | None = None  # slug or name
    reason: str = ""
    actor: str = "api"
    # Product events: only to a later stage (by order). The workflow refuses anything else
    # (AlreadyAtStage, NotForward), so API replicas racing on one deal cannot move it back.
    forward_only: bool = False


@dataclass
class CloseRequest:
    reason: str = ""
    actor: str = "api"


@dataclass
class NextActionRequest:
    at: datetime
    reason: str = "set by an operator"


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # stage | email | reply | open | click | bounce | decision | wait | status | note
    text: str


@dataclass
class DealStateView:
    """The `state` query: everything an ops script needs about a deal, right now."""

    deal_id: int
    brand: str
    pipeline: str
    contact_email: str
    stage: str
    stage_id: int
    status: str
    tier: str
    next_action_at: datetime | None
    next_action_reason: str
    emails_sent: int
    opens: int
    clicks: int
    replies: int
    last_decision: str
    stage_entered_at: datetime
    lost_reason: str = ""
    paused_until: datetime | None = None
    # Human review mode: the draft holding back the deal's next email, until a person decides.
    review_draft_id: int | None = None
    # A deal enrolled with an email sequence: the step its next automatic email is (from the
    # snapshot it started with), None when it has no sequence or every step went.
    sequence_step: SequenceStepPlan | None = None


@dataclass
class SendNowRequest:
    """A person's "send the next email now" (the `send_now` update); with `draft_id`, a stored
    draft of that email (approved in the review queue) goes out instead of a fresh rendering."""

    actor: str = "api"
    draft_id: int | None = None
    # A change of approach for this email and the deal's later ones (the AI writer is told).
    approach_note: str | None = None


@dataclass
class TierRefresh:
    """The daily engagement scan's tier for a deal (the `tier_refreshed` signal)."""

    tier: str


@dataclass
class SendReplyRequest:
    """A person approved the suggested reply `draft_id` (the `send_reply` update): it goes to
    the contact as an answer in their thread; the deal's stage and sequence stay as they are."""

    draft_id: int
    actor: str = "api"


@dataclass
class SendNowResult:
    """What "send now" did: `sent`, or why not (`outcome` is a SendStatus: suppressed, deferred
    by the daily cap or the send gap with `retry_at`, failed, ...), and the deal afterwards."""

    sent: bool
    outcome: str
    stage: str
    state: DealStateView
    subject: str = ""
    email_log_id: int | None = None
    detail: str = ""
    retry_at: datetime | None = None


@dataclass
class ReviewDecision:
    """A person's decision on the email a deal holds for review (the `review_draft` update).

    action: "approve" sends the draft as stored; "edit" stores `subject`/`body` on the draft
    and sends them; "reject" sends nothing and pauses the deal (an operator then resumes,
    moves or closes it)."""

    draft_id: int
    action: str  # approve | edit | reject
    subject: str | None = None
    body: str | None = None
    note: str = ""
    reviewer: str = "api"


REVIEW_ACTIONS = (ReviewAction.approve, ReviewAction.edit, ReviewAction.reject)


@dataclass
class ReviewHold:
    """The draft the review activity stored (or found, on a retry) for (deal, step)."""

    draft_id: int
    subject: str


@dataclass
class ReviewSettlement:
    """What happens to a review draft's row: a person's decision, or `discard` when the deal
    moved on while it waited (a reply, unsubscribe, bounce, a stage move)."""

    deal_id: int
    draft_id: int
    action: str  # approve | edit | reject | discard
    subject: str | None = None
    body: str | None = None
    note: str = ""
    reviewer: str = ""
