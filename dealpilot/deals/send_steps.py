"""Steps of a send that `Sender` runs around the provider call: the claim's lease, and writing
the ledger row's outcome only while the row is still this attempt's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlmodel import Session, select

from dealpilot.mail import TransientMailError
from models import DraftStatus, EmailDraft, EmailLog, EmailStatus

# How long a `sending` row belongs to the attempt that claimed it: longer than any provider
# call may take (SMTP and HTTP time out at 30 s). Within it, a retry leaves the row alone; past
# it, the claiming attempt did not finish and the send's outcome is looked up.
CLAIM_LEASE = timedelta(seconds=40)
_log = structlog.get_logger(__name__)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def lease_expired(row: EmailLog, now: datetime) -> bool:
    return row.sent_at is None or _aware(now) >= _aware(row.sent_at) + CLAIM_LEASE


def claim_in_progress(row: EmailLog, now: datetime) -> TransientMailError:
    """What a retry raises on finding the row claimed by an attempt that may still be sending:
    Temporal tries again later, and by then the row says how that send ended."""
    claimed = _aware(row.sent_at or now)
    left = max(0, int((claimed + CLAIM_LEASE - _aware(now)).total_seconds()))
    error = TransientMailError(
        f"another attempt claimed this email at {claimed:%H:%M:%S} UTC and may still be "
        f"sending it; its lease ends in {left}s",
        code="send_in_progress",
        provider="ledger",
    )
    error.retry_after = timedelta(seconds=left + 1)  # then the row says how it ended
    return error


def finish_row(
    session: Session,
    log_id: int,
    claimed_at: datetime | None,
    status: EmailStatus,
    *,
    error: str,
    sent_draft: tuple[int, int] | None,
    ids: dict[str, str | None],
) -> None:
    """Writes an attempt's outcome while the row is still its own: `sending` with its claim
    time, or `pending` for an attempt that never claimed (`claimed_at` None). A `sent` also
    replaces an `unknown` that a later attempt wrote meanwhile: it is news only this attempt
    has. Anything else means another attempt took the row over after the lease; its decision
    stands and this outcome is only logged."""
    row = session.exec(select(EmailLog).where(EmailLog.id == log_id).with_for_update()).one()
    if claimed_at is None:
        ours = row.status == EmailStatus.pending
    else:
        ours = (
            row.status == EmailStatus.sending
            and row.sent_at is not None
            and (_aware(row.sent_at) == _aware(claimed_at))
        )
        ours = ours or (status == EmailStatus.sent and row.status == EmailStatus.unknown)
    if not ours:
        _log.warning(
            "send.outcome_after_takeover",
            email_log_id=log_id,
            outcome=str(status),
            row_status=str(row.status),
        )
        return
    row.status, row.error = status, error[:2000]
    if status == EmailStatus.pending:
        row.sent_at = None
    for name, value in ids.items():
        setattr(row, name, value)
    session.add(row)
    if sent_draft is not None:
        # A review draft (one deal's email) is done once sent; a composer draft holds
        # many recipients and keeps the status the composer gave it.
        held = session.get(EmailDraft, sent_draft[0])
        if held is not None and held.deal_id == sent_draft[1]:
            held.status, held.sent_at = DraftStatus.sent, row.sent_at
            session.add(held)
