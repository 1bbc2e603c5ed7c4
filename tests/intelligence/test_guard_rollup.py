"""The guard's hourly rollup (`brandsendhour`, triggers of migration 0016) on SQLite and
PostgreSQL: whatever writes the email logs (inserts, a send recorded later, a bounce flagged
later, a status change, a deletion), the rates read from the rollup equal the rates counted
from the logs, for windows starting on the hour and in the middle of one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, update
from sqlmodel import Session, col, select

from dealpilot.deals import deliverability
from models import Brand, BrandSendHour, EmailLog, EmailStatus, session_scope, utcnow
from tests.factories import make_brand


def counted(s: Session, brand_id: int, since: datetime) -> tuple[int, int]:
    """Sends and bounces since `since`, counted from the email logs (the guard before 0016)."""
    sends, bounces = s.exec(
        select(func.count(), func.count().filter(col(EmailLog.bounced).is_(True))).where(
            col(EmailLog.brand_id) == brand_id,
            col(EmailLog.status) == EmailStatus.sent,
            col(EmailLog.sent_at) >= since,
        )
    ).one()
    return int(sends), int(bounces)


def rolled_up(s: Session, brand_id: int) -> dict[int, tuple[int, int]]:
    rows = s.exec(select(BrandSendHour).where(BrandSendHour.brand_id == brand_id)).all()
    return {r.hour: (r.sent, r.bounced) for r in rows if r.sent or r.bounced}


def by_hour(s: Session, brand_id: int) -> dict[int, tuple[int, int]]:
    out: dict[int, list[int]] = {}
    for sent_at, bounced in s.exec(
        select(EmailLog.sent_at, EmailLog.bounced).where(
            EmailLog.brand_id == brand_id,
            EmailLog.status == EmailStatus.sent,
            col(EmailLog.sent_at).is_not(None),
        )
    ).all():
        assert sent_at is not None
        row = out.setdefault((sent_at - deliverability.EPOCH) // deliverability.HOUR, [0, 0])
        row[0] += 1
        row[1] += int(bounced)
    return {h: (n, b) for h, (n, b) in out.items()}


def test_first_whole_hour() -> None:
    on = datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert deliverability.first_whole_hour(on) == 498897
    assert deliverability.first_whole_hour(on + timedelta(microseconds=1)) == 498898
    assert deliverability.first_whole_hour(on - timedelta(microseconds=1)) == 498897


def test_rates_from_the_rollup_equal_the_rates_counted_from_the_logs(any_engine: Engine) -> None:
    now = utcnow().replace(minute=20, second=0, microsecond=0)
    with session_scope(any_engine) as s:
        brand_id = make_brand(s, slug="rollup-co").id or 0
        other_id = make_brand(s, slug="rollup-other").id or 0
        # 9 days of sends, every 37 minutes, some on the very edge of an hour; every 7th bounced.
        for i in range(9 * 24 * 60 // 37):
            at = now - timedelta(minutes=37 * i)
            if i % 5 == 0:
                at = at.replace(minute=59, second=59, microsecond=999_999)
            s.add(
                EmailLog(
                    idempotency_key=f"rollup-{i}",
                    brand_id=other_id if i % 11 == 0 else brand_id,
                    to_email=f"r{i}@example.com",
                    subject="x",
                    status=EmailStatus.sent if i % 13 else EmailStatus.failed,
                    sent_at=at,
                    bounced=i % 7 == 0,
                )
            )
        # Reserved, then sent; a send without a time (never counted).
        s.add(EmailLog(idempotency_key="later", brand_id=brand_id, to_email="l@x.io", subject="x"))
        s.add(
            EmailLog(
                idempotency_key="no-time",
                brand_id=brand_id,
                to_email="n@x.io",
                subject="x",
                status=EmailStatus.sent,
            )
        )

    def check(label: str) -> None:
        with Session(any_engine) as s:
            assert rolled_up(s, brand_id) == by_hour(s, brand_id), label
            brand = s.get(Brand, brand_id)
            assert brand is not None
            for start in (
                now,
                now - timedelta(minutes=1),
                now - timedelta(hours=3, seconds=1),
                now.replace(minute=0),
                now - timedelta(days=2, minutes=41),
            ):
                brand.sending_resumed_at = start
                rates = deliverability.brand_rates(s, brand, now)
                since = deliverability.window_start(brand, now)
                assert (rates.sends, rates.bounces) == counted(s, brand_id, since), (label, start)
            brand.sending_resumed_at = None
            rates = deliverability.brand_rates(s, brand, now)
            expected = counted(s, brand_id, now - deliverability.RATE_WINDOW)
            assert (rates.sends, rates.bounces) == expected, label
            assert rates.sends > 100, label

    check("inserted")
    with session_scope(any_engine) as s:
        s.exec(  # type: ignore[call-overload]
            update(EmailLog)
            .where(col(EmailLog.idempotency_key) == "later")
            .values(status=EmailStatus.sent, sent_at=now - timedelta(minutes=5))
        )
        # Bounces reported later, one statement for many rows.
        s.exec(  # type: ignore[call-overload]
            update(EmailLog).where(col(EmailLog.id) % 3 == 0).values(bounced=True)
        )
    check("updated")
    with session_scope(any_engine) as s:
        s.exec(  # type: ignore[call-overload]
            update(EmailLog).where(col(EmailLog.id) % 4 == 0).values(status=EmailStatus.unknown)
        )
        for log in s.exec(select(EmailLog).where(col(EmailLog.id) % 5 == 1)).all():
            if log.sent_at is not None:
                log.sent_at -= timedelta(minutes=30)
                s.add(log)
        s.flush()
        s.exec(delete(EmailLog).where(col(EmailLog.id) % 6 == 2))  # type: ignore[call-overload]
    check("changed and deleted")
