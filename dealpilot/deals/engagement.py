"""A contact's engagement profile in one brand, read from EmailLog and EmailEvent."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models import EmailEvent, EmailEventType, EmailLog, EmailStatus
from workflows.rules import EngagementStats


def engagement_stats(session: Session, *, brand_id: int, email: str) -> EngagementStats:
    """Sends, human opens, clicks and replies of this address in this brand (never another's).

    Opens flagged as bots (link scanners, Apple Mail Privacy Protection) are left out; a
    click counts as an open, since a person cannot click without opening. Emails that only
    machines opened are counted apart (`emails_machine_opened`).
    """
    logs = session.exec(
        select(EmailLog)
        .where(
            EmailLog.brand_id == brand_id,
            EmailLog.to_email == email,
            EmailLog.status == EmailStatus.sent,
        )
        .order_by(col(EmailLog.sent_at))
    ).all()
    if not logs:
        return EngagementStats(0, 0, 0, 0, 0)
    ids = [log.id for log in logs]
    events = session.exec(select(EmailEvent).where(col(EmailEvent.email_log_id).in_(ids))).all()
    human_opens: dict[int, datetime] = {}
    clicks: dict[int, datetime] = {}
    for event in events:
        assert event.email_log_id is not None
        if event.is_bot:
            continue
        if event.event_type == EmailEventType.open:
            _keep_latest(human_opens, event.email_log_id, event.occurred_at)
        elif event.event_type == EmailEventType.click:
            _keep_latest(clicks, event.email_log_id, event.occurred_at)
            _keep_latest(human_opens, event.email_log_id, event.occurred_at)
    # Logs flagged directly (e.g. by a provider webhook without a stored event) count too.
    for log in logs:
        assert log.id is not None
        if log.opened and log.opened_at and log.id not in human_opens:
            human_opens[log.id] = log.opened_at
        if log.clicked and log.clicked_at and log.id not in clicks:
            clicks[log.id] = log.clicked_at
    replied = [log for log in logs if log.replied]
    machine_only = sum(1 for log in logs if log.machine_opened and log.id not in human_opens)
    consecutive_unopened = 0
    for log in reversed(logs):
        if log.id in human_opens or log.replied:
            break
        consecutive_unopened += 1
    return EngagementStats(
        emails_sent=len(logs),
        emails_opened=len(human_opens),
        emails_clicked=len(clicks),
        replies=len(replied),
        consecutive_unopened=consecutive_unopened,
        last_sent_at=logs[-1].sent_at,
        last_open_at=max(human_opens.values(), default=None),
        last_click_at=max(clicks.values(), default=None),
        last_reply_at=max((r.replied_at for r in replied if r.replied_at), default=None),
        emails_machine_opened=machine_only,
    )


def _keep_latest(seen: dict[int, datetime], key: int, at: datetime) -> None:
    if key not in seen or at > seen[key]:
        seen[key] = at
