"""The cost of the deliverability guard on every send and of the campaign forecast, on
PostgreSQL (a throwaway database):

    .venv/bin/python -m bench.intelligence [--sends 100000] [--small 1000] [--deals 10000]
                                           [--repeat 30]

(a) bare: `SELECT 1` in a session, the baseline of the same run.
(b) guard: `deliverability.brand_rates` over a brand with `--sends` sends in its 7-day
    window (what `gate` adds to each send's claim, under the brand's row lock), against the
    same over a brand with `--small` sends: the guard reads the hourly rollup (`brandsendhour`,
    migration 0016), so the ratio should stay near 1 however many sends (issue 15). The old
    way, counting the window's email logs, is measured too.
(c) forecast: `forecast.forecast_running` replaying `--deals` running deals over 14 days.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import datetime, timedelta

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from bench.common import fresh_postgres, seeded, table
from bench.results import record
from dealpilot.deals import deliverability, forecast
from models import Brand, Contact, Deal, EmailLog, EmailStatus, Pipeline, session_scope, utcnow


def _p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(14)
    with fresh_postgres() as url:
        engine = seeded(url)
        now = utcnow()
        with session_scope(engine) as s:
            brand = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
            brand.daily_cap, brand.min_gap_seconds = 2000, 0
            s.add(brand)
            pipeline = s.exec(
                select(Pipeline).where(Pipeline.brand_id == brand.id, Pipeline.slug == "sales")
            ).one()
            bid, pid = brand.id or 0, pipeline.id or 0
            from dealpilot.deals.service import stages_in_order

            entry = stages_in_order(s, pid)[0].id or 0
        with session_scope(engine) as s:
            s.add_all(
                Contact(brand_id=bid, email=f"c{i}@d{i % 50}.example") for i in range(args.deals)
            )
        with session_scope(engine) as s:
            ids = list(s.exec(select(Contact.id).where(Contact.brand_id == bid)).all())
            s.add_all(
                Deal(
                    contact_id=cid or 0,
                    pipeline_id=pid,
                    stage_id=entry,
                    next_action_at=now + timedelta(minutes=rng.randint(0, 14 * 24 * 60)),
                )
                for cid in ids
            )
        for start in range(0, args.sends, 20_000):
            with session_scope(engine) as s:
                s.add_all(
                    EmailLog(
                        idempotency_key=f"bench-{i}",
                        brand_id=bid,
                        to_email=f"c{i % args.deals}@d{i % 50}.example",
                        subject="x",
                        status=EmailStatus.sent,
                        sent_at=now - timedelta(minutes=rng.randint(0, 6 * 24 * 60)),
                        bounced=i % 100 == 0,
                    )
                    for i in range(start, min(start + 20_000, args.sends))
                )
        with session_scope(engine) as s:
            small = s.exec(select(Brand).where(Brand.id != bid).order_by(Brand.id)).first()
            assert small is not None
            sid = small.id or 0
            s.add_all(
                EmailLog(
                    idempotency_key=f"bench-small-{i}",
                    brand_id=sid,
                    to_email=f"s{i}@d{i % 50}.example",
                    subject="x",
                    status=EmailStatus.sent,
                    sent_at=now - timedelta(minutes=rng.randint(0, 6 * 24 * 60)),
                    bounced=i % 100 == 0,
                )
                for i in range(args.small)
            )
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
        bare, guard, guard_small, counted = [], [], [], []
        for _ in range(args.repeat):
            with session_scope(engine) as s:
                t = time.perf_counter()
                s.exec(select(1)).one()  # type: ignore[call-overload]
                bare.append(time.perf_counter() - t)
                row, small_row = s.get(Brand, bid), s.get(Brand, sid)
                assert row is not None
                assert small_row is not None
                t = time.perf_counter()
                big_rates = deliverability.brand_rates(s, row, now)
                guard.append(time.perf_counter() - t)
                t = time.perf_counter()
                deliverability.brand_rates(s, small_row, now)
                guard_small.append(time.perf_counter() - t)
                t = time.perf_counter()
                sends, bounces = _counted(s, bid, now - deliverability.RATE_WINDOW)
                counted.append(time.perf_counter() - t)
                assert (sends, bounces) == (big_rates.sends, big_rates.bounces)
        with session_scope(engine) as s:
            row = s.get(Brand, bid)
            assert row is not None
            t = time.perf_counter()
            result = forecast.forecast_running(s, row, start=now)
            replay = time.perf_counter() - t
        engine.dispose()
    ratio = statistics.median(guard) / statistics.median(guard_small)
    measures = [
        (f"guard rates, {args.small:,} sends in 7 days", guard_small),
        (f"guard rates, {args.sends:,} sends in 7 days", guard),
        (f"counted from the logs, {args.sends:,} sends (before 0016)", counted),
    ]
    rows: list[list[object]] = [["bare SELECT 1", _p(bare, 0.5), _p(bare, 0.95), 1.0]]
    for label, times in measures:
        x_bare = statistics.median(times) / statistics.median(bare)
        rows.append([label, _p(times, 0.5), _p(times, 0.95), x_bare])
    print(table(["measure", "p50 ms", "p95 ms", "x bare (p50)"], rows))
    print(f"guard at {args.sends:,} sends / at {args.small:,}: {ratio:.2f}x (p50)")
    sends = sum(d.running for d in result.days)
    print(f"forecast of {args.deals:,} running deals, 14 days: {replay:.2f} s ({sends:,} sends)")
    record(
        "intelligence", f"deliverability guard per send, {args.sends:,} sends in 7 days, p50 ms",
        value=_p(guard, 0.5), baseline=_p(bare, 0.5), unit="ms", baseline_name="SELECT 1",
        note=f"forecast of {args.deals:,} running deals: {replay:.2f} s",
    )  # fmt: skip
    record(
        "intelligence", f"guard per send, {args.sends:,} / {args.small:,} sends in 7 days",
        value=_p(guard, 0.5), baseline=_p(guard_small, 0.5), unit="ms",
        baseline_name=f"guard at {args.small:,} sends", ratio=ratio, target="<= 2",
        note=f"counting the logs instead (before 0016): {_p(counted, 0.5):.1f} ms",
    )  # fmt: skip


def _counted(s: Session, brand_id: int, since: datetime) -> tuple[int, int]:
    """The window's sends and bounces counted from the email logs (the guard before 0016)."""
    sends, bounces = s.exec(
        select(func.count(), func.count().filter(col(EmailLog.bounced).is_(True))).where(
            col(EmailLog.brand_id) == brand_id,
            col(EmailLog.status) == EmailStatus.sent,
            col(EmailLog.sent_at) >= since,
        )
    ).one()
    return int(sends), int(bounces)


if __name__ == "__main__":
    main()
