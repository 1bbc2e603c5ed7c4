"""The console's pages on a 2,000-deal pipeline, against a bare page of the same app.

    .venv/bin/python -m bench.console [--deals 2000] [--requests 60] [--postgres]

The app is called in-process (Starlette's TestClient), signed in as an admin; every figure is
the time of a whole request (routing, session cookie, queries, template), in milliseconds,
p50 and p95 over `--requests` requests after a warm-up:
(a) bare: the sign-in page of the same app (a template, a session cookie, no query).
(b) board: the pipeline board of the 2,000-deal pipeline (counts per stage, 25 cards per
    column, the cards' last emails).
(c) deal: a deal's page (the deal, contact, stages, emails, decisions; no Temporal here, so the
    workflow's timeline is not asked: the page says so).
(d) today: the home page over the same data.
The ratio to (a) is the figure to watch.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlmodel import Session, col, select

from api import create_app
from bench.common import fresh_postgres, seeded, seeded_sqlite, table, target
from bench.results import record
from dealpilot.accounts import create_user
from dealpilot.core.settings import Settings
from models import (
    Contact,
    Deal,
    EmailLog,
    EmailStatus,
    EngagementTier,
    PipelineStage,
    UserRole,
    utcnow,
)

PASSWORD = "bench-password-1"


def fill(engine: Engine, n: int) -> int:
    """n deals spread over the Codeteki sales pipeline's stages, each with one sent email."""
    goal = target(engine)
    with Session(engine) as s:
        stages = s.exec(
            select(PipelineStage.id).where(PipelineStage.pipeline_id == goal.pipeline_id)
        ).all()
        now = utcnow()
        s.execute(
            insert(Contact),
            [
                {
                    "brand_id": goal.brand_id,
                    "email": f"lead{i}@bench.example",
                    "name": f"Lead {i}",
                    "company": f"Company {i % 300}",
                    "contact_type": "lead",
                    "tags": [],
                    "created_at": now,
                    "updated_at": now,
                    "source": "",
                    "website": "",
                    "phone": "",
                    "notes": "",
                }
                for i in range(n)
            ],
        )
        ids = s.exec(select(Contact.id).where(Contact.brand_id == goal.brand_id)).all()
        tiers = list(EngagementTier)
        s.execute(
            insert(Deal),
            [
                {
                    "contact_id": cid,
                    "pipeline_id": goal.pipeline_id,
                    "stage_id": stages[i % len(stages)],
                    "status": "active",
                    "engagement_tier": tiers[i % len(tiers)],
                    "next_action_reason": "follow-up",
                    "stage_entered_at": now,
                    "lost_reason": "",
                    "ai_notes": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for i, cid in enumerate(ids)
            ],
        )
        deals = s.exec(select(Deal.id, Deal.contact_id, Deal.stage_id)).all()
        s.execute(
            insert(EmailLog),
            [
                {
                    "idempotency_key": f"deal-{d}:1",
                    "brand_id": goal.brand_id,
                    "deal_id": d,
                    "contact_id": c,
                    "stage_id": st,
                    "to_email": f"x{d}@bench.example",
                    "subject": "Hello",
                    "status": EmailStatus.sent,
                    "sent_at": now,
                    "opened": d % 2 == 0,
                    "created_at": now,
                }
                for d, c, st in deals
            ],
        )
        create_user(s, email="bench@example.com", password=PASSWORD, role=UserRole.admin)
        s.commit()
        first = s.exec(select(Deal.id).order_by(col(Deal.id))).first()
    return first or 0


def sign_in(client: TestClient) -> None:
    form = client.get("/console/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    data = {"email": "bench@example.com", "password": PASSWORD, "csrf_token": token.group(1)}
    answer = client.post("/console/login", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def timings(get: Callable[[], int], n: int) -> tuple[float, float]:
    for _ in range(5):
        get()  # warm-up: templates compiled, connections pooled
    times = []
    for _ in range(n):
        started = time.perf_counter()
        status = get()
        times.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def run(engine: Engine, deals: int, requests: int) -> None:
    deal_id = fill(engine, deals)
    goal = target(engine)
    app = create_app(engine=engine, api_keys={"bench"}, settings=Settings(DEALPILOT_ENV="test"))
    with TestClient(app) as client:
        sign_in(client)
        pages = {
            "bare (sign-in page)": "/console/login",
            f"board ({deals:,} deals)": f"/console/board?pipeline={goal.pipeline_id}",
            "deal page": f"/console/deals/{deal_id}",
            "today": "/console/",
        }
        rows = []
        base = None
        for name, path in pages.items():
            p50, p95 = timings(lambda path=path: client.get(path).status_code, requests)
            base = base or p50
            rows.append([name, p50, p95, p50 / base])
            if name != "bare (sign-in page)":
                record(
                    "console", f"{name}, p50 ms", value=p50, baseline=base, unit="ms",
                    baseline_name="bare sign-in page",
                )  # fmt: skip
    print(table(["page", "p50 ms", "p95 ms", "p50 / bare"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deals", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    if args.postgres:
        with fresh_postgres() as url:
            engine = seeded(url)
            try:
                run(engine, args.deals, args.requests)
            finally:
                engine.dispose()
        return
    with tempfile.TemporaryDirectory() as tmp:
        engine = seeded_sqlite(Path(tmp) / "bench.db")
        try:
            run(engine, args.deals, args.requests)
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
