"""A person's answer to a contact (a suggested reply approved in the review queue), sent by the
deal's workflow: pure functions, as in workflows.autopilot.

An answer is not a sequence email: it moves no stage and starts no follow-up; the deal keeps
its stage, its next action and its counter of sequence steps. The send's guards are the
autopilot's (suppression, bounces, the daily cap and the send gap) and its ledger row is keyed
by the draft, so a retried send never sends twice.
"""

from __future__ import annotations

from datetime import datetime

from temporalio.exceptions import ApplicationError

from dealpilot.core.enums import DealStatus, SendStatus, SuppressionReason
from workflows.contracts import SendOutcome
from workflows.deal_memory import DealMemory, note
from workflows.effects import CloseLost, Effect, Record, Suppress, Sync


def check_reply(m: DealMemory) -> None:
    """The `send_reply` update's rejection: a closed deal sends nothing."""
    if m.status in (DealStatus.won, DealStatus.lost):
        raise ApplicationError(f"the deal is already {m.status}", type="DealClosed")


def after_reply(m: DealMemory, draft_id: int, outcome: SendOutcome, now: datetime) -> list[Effect]:
    record = Record("send_reply", outcome.status, outcome.detail or f"reply {draft_id} sent")
    if outcome.status == SendStatus.sent:
        m.emails_sent += 1
        note(m, now, "email", f"Sent a reply: \u201c{outcome.subject}\u201d (draft {draft_id})")
        return [record, Sync()]
    note(m, now, "email", f"Reply {draft_id} not sent ({outcome.status}): {outcome.detail}")
    if outcome.status == SendStatus.suppressed:
        return [record, CloseLost(outcome.detail or "suppressed", "suppressed")]
    if outcome.status == SendStatus.rejected:
        return [
            record,
            Suppress(SuppressionReason.hard_bounce, outcome.detail),
            CloseLost(f"address rejected: {outcome.detail}", "rejected"),
        ]
    return [record, Sync()]
