"""The cost of the deliverability guard on every send and of the campaign forecast, on
PostgreSQL (a throwaway database):

    .venv/bin/python -m bench.intelligence [--sends 100000] [--deals 10000] [--repeat 30]

(a) bare: `SELECT 1` in a session, the baseline of the same run.
(b) guard: `deliverability.brand_rates` over a brand with `--sends` sends in its 7-day
    window (what `gate` adds to each send's claim, under the brand's row lock).
(c) forecast: `forecast.forecast_running` replaying `--deals` running deals over 14 days.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import select

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
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
        bare, guard = [], []
        for _ in range(args.repeat):
            with session_scope(engine) as s:
                t = time.perf_counter()
                s.exec(select(1)).one()  # type: ignore[call-overload]
                bare.append(time.perf_counter() - t)
                row = s.get(Brand, bid)
                assert row is not None
                t = time.perf_counter()
                deliverability.brand_rates(s, row, now)
                guard.append(time.perf_counter() - t)
        with session_scope(engine) as s:
            row = s.get(Brand, bid)
            assert row is not None
            t = time.perf_counter()
            result = forecast.forecast_running(s, row, start=now)
            replay = time.perf_counter() - t
        engine.dispose()
    print(
        table(
            ["measure", "p50 ms", "p95 ms", "x bare (p50)"],
            [
                ["bare SELECT 1", _p(bare, 0.5), _p(bare, 0.95), 1.0],
                [
                    f"guard rates, {args.sends:,} sends in 7 days",
                    _p(guard, 0.5),
                    _p(guard, 0.95),
                    statistics.median(guard) / statistics.median(bare),
                ],
            ],
        )
    )
    sends = sum(d.running for d in result.days)
    print(f"forecast of {args.deals:,} running deals, 14 days: {replay:.2f} s ({sends:,} sends)")
    record(
        "intelligence", f"deliverability guard per send, {args.sends:,} sends in 7 days, p50 ms",
        value=_p(guard, 0.5), baseline=_p(bare, 0.5), unit="ms", baseline_name="SELECT 1",
        note=f"forecast of {args.deals:,} running deals: {replay:.2f} s",
    )  # fmt: skip


if __name__ == "__main__":
    main()
