"""The effects a deal decision asks DealWorkflow to carry out, in order.

The decision functions (workflows.decisions, workflows.autopilot) change the deal's memory
directly where nothing else has to happen first, and return these for the rest: activities to
call, the next wake-up, stage moves and closes that must come after an activity. Plain frozen
data, so a test can compare a decision's effects with `==`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dealpilot.core.enums import SuppressionReason
from workflows.contracts import Engagement, ReplyEvent
from workflows.rules import StageInfo


@dataclass(frozen=True)
class Schedule:
    """The deal's next action: when (None: only a signal or a person wakes it) and why."""

    at: datetime | None
    reason: str
    # The stage's wait (days) when this is the tier-scaled follow-up timer (workflows.cadence):
    # a refreshed tier may replan it. None for every other wake.
    follow_up_days: int | None = None


@dataclass(frozen=True)
class EnterStage:
    """Move into `stage` (workflows.autopilot.enter_stage); `lost_reason` is recorded after a
    move into a lost stage."""

    stage: StageInfo
    reason: str
    lost_reason: str | None = None


@dataclass(frozen=True)
class CloseLost:
    """Discard any review draft, move to the lost stage (`stage_id`, default the pipeline's
    lost stage), record the decision and save the deal."""

    reason: str
    decision: str
    stage_id: int | None = None


@dataclass(frozen=True)
class DiscardReview:
    """The email waiting for review (if any) is void: the deal moved on."""

    reason: str


@dataclass(frozen=True)
class Suppress:
    reason: SuppressionReason
    detail: str


@dataclass(frozen=True)
class Record:
    """An AI-decision-log row (decision type, action taken, reasoning)."""

    decision_type: str
    action: str
    reasoning: str


@dataclass(frozen=True)
class DraftReply:
    """An AI-suggested answer to a reply, drafted for a person."""

    reply: ReplyEvent
    suggestion: str | None
    note: str | None = None


@dataclass(frozen=True)
class RefreshEngagement:
    """Score engagement again and keep the new tier."""


@dataclass(frozen=True)
class Sync:
    """Mirror the deal's memory to its row and to the search attributes / Web UI details."""


@dataclass(frozen=True)
class AskAI:
    """Ask the AI what to do next (workflows.autopilot.on_ai_action reads its answer)."""

    next_stage: StageInfo
    engagement: Engagement
    days_in_stage: int


@dataclass(frozen=True)
class SendInto:
    """Send `stage`'s email (or hold it for review) and move into the stage once sent."""

    stage: StageInfo


@dataclass(frozen=True)
class SendOnEnter:
    """The current stage's entry email (send_on_enter), if suppression and window allow."""

    stage: StageInfo


@dataclass(frozen=True)
class SendEntryEmail:
    """Send the entry email now (the checks of SendOnEnter passed). `won`: the deal was won
    before the send, and stays won whatever the outcome."""

    stage: StageInfo
    won: bool


@dataclass(frozen=True)
class SendReviewed:
    """Send the email a person approved in review, when the deal may send."""


Effect = (
    Schedule
    | EnterStage
    | CloseLost
    | DiscardReview
    | Suppress
    | Record
    | DraftReply
    | RefreshEngagement
    | Sync
    | AskAI
    | SendInto
    | SendOnEnter
    | SendEntryEmail
    | SendReviewed
)
