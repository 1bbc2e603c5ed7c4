"""What the tests do to deals from outside, as the webhook intake and tracking would."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models import EmailEvent, EmailEventType, EmailLog, EmailStatus, session_scope, utcnow


def sent_logs(engine: Engine, deal_id: int) -> list[EmailLog]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(EmailLog)
                .where(EmailLog.deal_id == deal_id, EmailLog.status == EmailStatus.sent)
                .order_by(col(EmailLog.sent_at))
            ).all()
        )


def record_open(engine: Engine, log: EmailLog, at: datetime | None = None) -> None:
    """Stores a human open of `log`, as the open pixel would."""
    with session_scope(engine) as s:
        s.add(
            EmailEvent(
                brand_id=log.brand_id,
                email_log_id=log.id,
                deal_id=log.deal_id,
                event_type=EmailEventType.open,
                source="pixel",
                dedupe_key=f"open-{log.id}-{(at or utcnow()).isoformat()}",
                occurred_at=at or utcnow(),
            )
        )
