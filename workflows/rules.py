"""The autopilot's decisions as pure functions of plain data (DESIGN.md "Autopilot rules").

DealWorkflow calls these during replay, so nothing here reads a clock, does I/O or uses
randomness, and only the stdlib is imported (no models/, no SQLAlchemy: this module must
load inside Temporal's workflow sandbox). Tiers, stage kinds and intents are the StrEnums of
dealpilot.core.enums (stdlib only), equal to their plain string values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dealpilot.core.enums import EngagementTier, ReplyIntent, StageKind, SuppressionReason
from workflows.windows import (
    SendWindow,
    in_send_window,
    next_send_time,
    next_window_opening,
    ooo_resume_at,
    resolve_zone,
)

__all__ = [
    "BURNOUT_WAIT",
    "EngagementStats",
    "GuardResult",
    "ReplyOutcome",
    "SendWindow",
    "StageInfo",
    "Verdict",
    "ab_variant",
    "autopilot_guard",
    "engagement_tier",
    "in_send_window",
    "is_burnout_risk",
    "is_final_sequence_stage",
    "is_ghost",
    "lost_stage",
    "next_send_time",
    "next_sequence_stage",
    "next_window_opening",
    "ooo_resume_at",
    "reply_outcome",
    "reply_stage",
    "resolve_zone",
    "won_stage",
]

BURNOUT_WAIT = timedelta(days=7)
HOT_WINDOW = timedelta(days=7)
WARM_WINDOW = timedelta(days=14)
GHOST_AFTER = 3  # emails sent with no open, click or reply
COLD_AFTER = 2
BURNOUT_AFTER = 3  # consecutive unopened sends


# --- engagement -------------------------------------------------------------------------


@dataclass(frozen=True)
class EngagementStats:
    emails_sent: int
    emails_opened: int  # distinct sent emails with a human open (bots, machine opens excluded)
    emails_clicked: int
    replies: int
    consecutive_unopened: int  # most recent sends in a row with no open
    last_sent_at: datetime | None = None
    last_open_at: datetime | None = None
    last_click_at: datetime | None = None
    last_reply_at: datetime | None = None
    # Sent emails whose only opens were machine opens (Apple Mail Privacy Protection): the
    # recipient's mail app is there, whether or not a person read them.
    emails_machine_opened: int = 0

    @property
    def emails_engaged(self) -> int:
        """Distinct emails opened or clicked: a click implies an open even if no pixel fired
        (image blocking), and we cannot tell overlap apart, so the larger count is the floor."""
        return min(max(self.emails_opened, self.emails_clicked), self.emails_sent)

    @property
    def last_engaged_at(self) -> datetime | None:
        times = [t for t in (self.last_open_at, self.last_click_at) if t is not None]
        return max(times) if times else None


def engagement_tier(stats: EngagementStats, now: datetime) -> EngagementTier:
    """new | engaged | hot | warm | lurker | cold | ghost, first match wins.

    - engaged: replied at least once (the strongest signal; outranks everything).
    - new: nothing sent yet, *or exactly one email sent with no reaction yet*: one unanswered
      email is no evidence of coldness (opens often arrive days later) and "cold" would make
      the AI change approach before the sequence has even started.
    - hot: opened or clicked within the last 7 days (inclusive) and open rate > 50%, where a
      clicked email counts as opened (clicks outweigh noisy opens).
    - warm: opened or clicked within the last 14 days (inclusive).
    - lurker: opened or clicked before, quiet since (or no timestamp known for it).
    - ghost: 3+ emails, no open or click.  cold: 2 emails, no open or click.
    """
    if stats.replies > 0:
        return EngagementTier.engaged
    if stats.emails_sent <= 0:
        return EngagementTier.new
    engaged = stats.emails_engaged
    if engaged > 0:
        last = stats.last_engaged_at
        age = now - last if last is not None else None
        if age is not None and age <= HOT_WINDOW and engaged / stats.emails_sent > 0.5:
            return EngagementTier.hot
        if age is not None and age <= WARM_WINDOW:
            return EngagementTier.warm
        return EngagementTier.lurker
    if stats.emails_sent >= GHOST_AFTER and stats.emails_machine_opened == 0:
        return EngagementTier.ghost
    if stats.emails_sent >= COLD_AFTER:
        return EngagementTier.cold
    return EngagementTier.new


def is_ghost(stats: EngagementStats) -> bool:
    """3+ emails and not one open, click or reply. Machine opens are no engagement, but they
    are no evidence of absence either: opens read through Apple Mail Privacy Protection are
    invisible, so such a recipient is never a ghost on opens alone."""
    return (
        stats.emails_sent >= GHOST_AFTER
        and stats.emails_opened == 0
        and stats.emails_clicked == 0
        and stats.replies == 0
        and stats.emails_machine_opened == 0
    )


def is_burnout_risk(stats: EngagementStats) -> bool:
    """3+ most recent sends unopened by someone who did engage once: back off, don't close."""
    return stats.consecutive_unopened >= BURNOUT_AFTER and not is_ghost(stats)


def ab_variant(deal_id: int) -> str:
    """ "A" or "B", stable per deal. A hash (not id parity) so the split does not line up with
    whatever else correlates with id order, such as import batches or stages."""
    digest = hashlib.blake2b(f"ab:{deal_id}".encode(), digest_size=8).digest()
    return "A" if digest[0] & 1 == 0 else "B"


# --- stages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StageInfo:
    id: int
    name: str
    slug: str
    order: int
    kind: str  # entry/sequence/reply/manual/won/lost
    auto_action: str  # none/send_email/send_on_enter/draft_reply/close
    days_until_followup: int | None
    is_terminal: bool
    template_key: str | None


def _ordered(stages: Sequence[StageInfo]) -> list[StageInfo]:
    return sorted(stages, key=lambda s: (s.order, s.id))


def next_sequence_stage(stages: Sequence[StageInfo], current_id: int) -> StageInfo | None:
    """The stage the autopilot sends into next, or None.

    Only the stage directly after the current one counts, and only if it is a "sequence"
    stage: the autopilot never advances into reply/manual/won/lost stages (Responded,
    Registered, Client) — replies and people do that. None too when the current stage is not
    entry/sequence, or is unknown (deleted while the deal slept: stop rather than guess).
    """
    ordered = _ordered(stages)
    index = next((i for i, s in enumerate(ordered) if s.id == current_id), None)
    if index is None or ordered[index].kind not in (StageKind.entry, StageKind.sequence):
        return None
    if index + 1 < len(ordered) and ordered[index + 1].kind == StageKind.sequence:
        return ordered[index + 1]
    return None


def is_final_sequence_stage(stages: Sequence[StageInfo], current_id: int) -> bool:
    current = next((s for s in stages if s.id == current_id), None)
    return (
        current is not None
        and current.kind == StageKind.sequence
        and next_sequence_stage(stages, current_id) is None
    )


def _first(stages: Sequence[StageInfo], kind: StageKind) -> StageInfo | None:
    return next((s for s in _ordered(stages) if s.kind == kind), None)


def lost_stage(stages: Sequence[StageInfo]) -> StageInfo:
    """The pipeline's "not interested"/"rejected"/"lost" stage: the first of kind lost,
    terminal ones preferred. Every pipeline must have one (raises LookupError otherwise)."""
    lost = [s for s in _ordered(stages) if s.kind == StageKind.lost]
    if not lost:
        raise LookupError("pipeline has no stage of kind 'lost'")
    return next((s for s in lost if s.is_terminal), lost[0])


def reply_stage(stages: Sequence[StageInfo]) -> StageInfo | None:
    return _first(stages, StageKind.reply)


def won_stage(stages: Sequence[StageInfo]) -> StageInfo | None:
    return _first(stages, StageKind.won)


# --- the guard --------------------------------------------------------------------------


class Verdict(StrEnum):
    SEND_WINDOW_CLOSED = "send_window_closed"
    SUPPRESSED = "suppressed"
    FINAL_EXPIRED = "final_expired"
    GHOST = "ghost"
    BURNOUT = "burnout"
    PROCEED = "proceed"


@dataclass(frozen=True)
class GuardResult:
    verdict: Verdict
    reason: str  # a sentence for the timeline
    wake_at: datetime | None = None  # SEND_WINDOW_CLOSED / BURNOUT
    target_stage_id: int | None = None  # where to move: SUPPRESSED / FINAL_EXPIRED / GHOST


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def autopilot_guard(
    *,
    now: datetime,
    window: SendWindow,
    deal_id: int,
    contact_timezone: str | None,
    suppressed: bool,
    suppression_reason: str | None,
    stages: Sequence[StageInfo],
    current_stage_id: int,
    stats: EngagementStats,
    final: bool | None = None,
) -> GuardResult:
    """Rules 1–4 of "Autopilot rules", in order; PROCEED hands over to the AI (rule 5).

    Call only when the current stage's wait is over: rule 3 reads "the final follow-up is
    due again" as "its wait ran out with no reply". `final`: whether this was the last wait
    (an email sequence's, workflows.sequences); None: the pipeline's final stage decides.
    """
    if not in_send_window(now, window, contact_timezone):
        wake = next_send_time(now, window, deal_id, contact_timezone)
        zone = resolve_zone(window, contact_timezone)
        local = wake.astimezone(zone)
        return GuardResult(
            Verdict.SEND_WINDOW_CLOSED,
            f"Outside the send window: waiting until {local:%a %d %b %H:%M} ({zone})",
            wake_at=wake,
        )
    try:
        lost_id: int | None = lost_stage(stages).id
    except LookupError:
        lost_id = None
    if suppressed:
        why = suppression_reason or "suppressed"
        return GuardResult(
            Verdict.SUPPRESSED,
            f"Contact is suppressed for this brand ({why}): closing as lost without emailing",
            target_stage_id=lost_id,
        )
    if final is None:
        final = is_final_sequence_stage(stages, current_stage_id)
    if stats.replies == 0 and final:
        name = next(s.name for s in stages if s.id == current_stage_id)
        return GuardResult(
            Verdict.FINAL_EXPIRED,
            f"No reply after the final follow-up ({name}): moving to not interested",
            target_stage_id=lost_id,
        )
    if is_ghost(stats):
        return GuardResult(
            Verdict.GHOST,
            f"{_plural(stats.emails_sent, 'email')} sent, none opened: closing as ghost",
            target_stage_id=lost_id,
        )
    if is_burnout_risk(stats):
        wake = next_send_time(now + BURNOUT_WAIT, window, deal_id, contact_timezone)
        return GuardResult(
            Verdict.BURNOUT,
            f"Last {stats.consecutive_unopened} emails unopened: resting for "
            f"{BURNOUT_WAIT.days} days before trying again",
            wake_at=wake,
        )
    return GuardResult(Verdict.PROCEED, "Autopilot checks passed: asking the AI what to do")


# --- replies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyOutcome:
    """What a classified reply does to the deal (DESIGN.md, replies paragraph)."""

    stop_sequence: bool  # no further automatic email
    move_to: str | None  # "reply" (Responded) | "lost" | None
    suppress: str | None  # SuppressionReason value to record for the brand, if any
    pause_until_return: bool  # out of office: sleep until ooo_resume_at(return_date)
    draft_reply: bool  # an AI-suggested answer for a person
    counts_as_reply: bool = True  # a person wrote back (not an auto-reply or a bounce)
    close_reason: str = ""  # move_to "lost": the deal's lost reason
    decision: str = ""  # move_to "lost": the decision type recorded


def reply_outcome(intent: str) -> ReplyOutcome:
    """Unknown intents stop the sequence and go to a person: the safe default."""
    match intent:
        case ReplyIntent.interested | ReplyIntent.question:
            return ReplyOutcome(True, "reply", None, False, True)
        case ReplyIntent.not_interested:
            return ReplyOutcome(
                True, "lost", None, False, False,
                close_reason="not interested", decision="reply_not_interested",
            )  # fmt: skip
        case ReplyIntent.unsubscribe:
            return ReplyOutcome(
                True, "lost", SuppressionReason.unsubscribed, False, False,
                close_reason="asked to be removed", decision="reply_unsubscribe",
            )  # fmt: skip
        case ReplyIntent.bounce:
            return ReplyOutcome(
                True, "lost", SuppressionReason.hard_bounce, False, False,
                counts_as_reply=False, close_reason="bounced", decision="reply_bounce",
            )  # fmt: skip
        case ReplyIntent.out_of_office:
            return ReplyOutcome(False, None, None, True, False, counts_as_reply=False)
        case ReplyIntent.auto_reply:
            # A ticket system or an unmonitored mailbox: nobody read it, nothing changes.
            return ReplyOutcome(False, None, None, False, False, counts_as_reply=False)
        case ReplyIntent.left_company:
            # The address is not the person any more; it may be read by someone else, so
            # it is not suppressed: the deal closes and a person may start one elsewhere.
            return ReplyOutcome(
                True, "lost", None, False, False,
                counts_as_reply=False, close_reason="contact left the company",
                decision="reply_left_company",
            )  # fmt: skip
        case ReplyIntent.referral:
            # A person wrote back naming someone else: a person follows it up.
            return ReplyOutcome(True, "reply", None, False, False)
        case _:
            return ReplyOutcome(True, "reply", None, False, False)
