"""What the tests do to deals from outside, as the webhook intake and tracking would."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dealpilot.core.settings import Settings
from dealpilot.temporal.deals import DealStart
from models import (
    Brand,
    Contact,
    Deal,
    EmailEvent,
    EmailEventType,
    EmailLog,
    EmailStatus,
    MailProviderName,
    Pipeline,
    PipelineStage,
    session_scope,
    utcnow,
)


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


def open_window(engine: Engine, slug: str, **changes: object) -> None:
    """Sends through the test SMTP server, always inside the window unless told otherwise."""
    with session_scope(engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == slug)).one()
        brand.provider = MailProviderName.smtp
        brand.send_days = [0, 1, 2, 3, 4, 5, 6]
        brand.send_window_start = time(0, 0)
        brand.send_window_end = time(23, 59, 59)
        brand.min_gap_seconds = 0
        for name, value in changes.items():
            setattr(brand, name, value)
        s.add(brand)


def create_deal(
    engine: Engine,
    email: str,
    *,
    brand: str,
    pipeline: str,
    name: str = "",
    timezone: str | None = None,
) -> DealStart:
    """The deal's rows at the pipeline's first stage, as the API commits them before starting
    the workflow."""
    with session_scope(engine) as s:
        b = s.exec(select(Brand).where(Brand.slug == brand)).one()
        p = s.exec(
            select(Pipeline).where(Pipeline.brand_id == b.id, Pipeline.slug == pipeline)
        ).one()
        first = s.exec(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == p.id)
            .order_by(col(PipelineStage.order))
        ).first()
        assert first is not None
        assert b.id is not None
        contact = Contact(brand_id=b.id, email=email, name=name, timezone=timezone)
        s.add(contact)
        s.flush()
        deal = Deal(contact_id=contact.id or 0, pipeline_id=p.id or 0, stage_id=first.id or 0)
        s.add(deal)
        s.flush()
        return DealStart(deal.id or 0, b.slug, p.name, first.name, email, name)


def stack_settings(data_dir: Path, smtp_port: int, **extra: Any) -> Settings:
    """The settings of a test stack: SMTP to the local aiosmtpd on `smtp_port`, the tests'
    tracking secret and public URL, and any `extra` (by their environment names)."""
    return Settings(
        DEALPILOT_ENV="test",
        DEALPILOT_DATA_DIR=data_dir,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_port,
        SMTP_SECURITY="none",
        TRACKING_SECRET="test-tracking-secret",
        PUBLIC_BASE_URL="https://crm.example.test",
        **extra,
    )
