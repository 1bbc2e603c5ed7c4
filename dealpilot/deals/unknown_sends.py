"""Sends whose outcome is unknown are resolved, not abandoned.

A ledger row is left `sending` by an attempt that did not finish within its claim's lease (its
worker died or froze mid-send), or marked `unknown` when the provider's answer never came.
Before anyone gives up on it, its Message-ID is looked up in the mailbox's Sent folder
(`dealpilot.inbox.sent`):
- found → the row is `sent` (the contact got it; the deal goes on as after a send);
- not found → the row goes back to `pending` and is sent once more, with the same Message-ID
  (so a copy that does turn up later is the same message, and a later lookup finds it);
- cannot tell (no mailbox, or it could not be read) → `unknown`, for a person, as before.

The row is re-read under a lock before it changes, so of two attempts resolving the same row
only one can send it again. The ledger's words say what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from dealpilot.deals.send_steps import CLAIM_LEASE
from dealpilot.inbox.sent import SentAnswer, SentLookup, SentQuery, Verdict
from dealpilot.mail import TransientMailError
from models import EmailLog, EmailStatus
from models.uow import Transact
from workflows.contracts import SendOutcome

UNRESOLVED = (EmailStatus.sending, EmailStatus.unknown)
EARLIER_UNKNOWN = "an earlier attempt whose outcome was unknown"


@dataclass(frozen=True)
class Unresolved:
    """A row whose send may or may not have gone out; `cause` says why we do not know."""

    log_id: int
    query: SentQuery  # what the ledger knows of the send, to look it up by
    cause: str

    @property
    def message_id(self) -> str | None:
        return self.query.message_id


@dataclass(frozen=True)
class Resend:
    """Not found in Sent: send the row once more with this Message-ID; `note` goes in its log."""

    log_id: int
    message_id: str
    note: str


def unresolved(row: EmailLog) -> Unresolved | None:
    """The row as an unresolved send, when it is one (`sending` past its lease, `unknown`)."""
    if row.status not in UNRESOLVED or row.id is None:
        return None
    cause = EARLIER_UNKNOWN if row.status == EmailStatus.unknown else unfinished_claim(row)
    query = SentQuery(
        message_id=row.message_id,
        to_email=row.to_email,
        subject=row.subject,
        claimed_at=row.sent_at,
        provider=row.provider,
    )
    return Unresolved(row.id, query, cause)


def unfinished_claim(row: EmailLog) -> str:
    """What the ledger knows of a `sending` row past its lease: not that a worker died (it may
    have frozen, or lost its connection), only that the attempt never reported back."""
    lease = int(CLAIM_LEASE.total_seconds())
    if row.sent_at is None:
        return f"the attempt sending it did not finish within {lease}s"
    claimed = f"{row.sent_at:%H:%M:%S} UTC"
    return f"the attempt that claimed it at {claimed} did not finish within {lease}s"


async def resolve(
    transact: Transact, lookup: SentLookup, pending: Unresolved
) -> SendOutcome | Resend:
    """Looks the Message-ID up (outside any transaction), then settles the row on the answer."""
    if pending.message_id or pending.query.provider == "zoho":
        answer = await lookup.was_sent(pending.query)
    else:
        answer = SentAnswer(Verdict.cannot_tell, "no Message-ID was recorded")
    return await transact(lambda session: settle(session, pending, answer))


def settle(session: Session, pending: Unresolved, answer: SentAnswer) -> SendOutcome | Resend:
    row = session.exec(
        select(EmailLog).where(EmailLog.id == pending.log_id).with_for_update()
    ).one()
    if row.status not in UNRESOLVED or row.message_id != pending.message_id:
        # Another attempt settled it meanwhile: report what it decided, never act twice. If
        # that attempt is sending it again right now, ask Temporal to retry this one later:
        # by then the row says how that send ended.
        if row.status == EmailStatus.pending:
            raise TransientMailError(
                "another attempt is sending this email again",
                code="resend_in_progress",
                provider="ledger",
            )
        return as_outcome(row)
    if answer.verdict == Verdict.found:
        row.status, row.error = EmailStatus.sent, f"found in {answer.where} after {pending.cause}"
    elif answer.verdict == Verdict.not_found and row.message_id:
        note = f"not found in {answer.where} after {pending.cause}; sent again once"
        row.status, row.error, row.sent_at = EmailStatus.pending, note[:2000], None
        session.add(row)
        return Resend(pending.log_id, row.message_id, note)
    else:
        row.status = EmailStatus.unknown
        row.error = f"{pending.cause}; outcome unknown, not resent ({answer.where})"[:2000]
    session.add(row)
    return as_outcome(row)


def as_outcome(row: EmailLog) -> SendOutcome:
    if row.status == EmailStatus.sent:
        return SendOutcome(
            status="sent", email_log_id=row.id, message_id=row.message_id, subject=row.subject
        )
    return SendOutcome(status=str(row.status), email_log_id=row.id, detail=row.error)
