"""The ledger's totals as Prometheus metrics, read from the database at scrape time: emails by
brand, provider and status, and AI calls, tokens and cost by model (served by the API's
`/metrics`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from dealpilot.core.metrics import PriceTable
from models import AIDecisionLog, Brand, EmailLog

log = structlog.get_logger(__name__)


class LedgerCollector(Collector):
    """Email and AI totals from the database, read at scrape time (cached for `ttl` seconds so
    several Prometheus servers or a fast scrape interval cost one query each window)."""

    def __init__(self, engine: Engine, prices: PriceTable, *, ttl: float = 10.0) -> None:
        self._engine = engine
        self._prices = prices
        self._ttl = ttl
        self._cached: tuple[float, list[Metric]] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self._ttl:
                self._cached = (now, self._read())
            return list(self._cached[1])

    def _read(self) -> list[Metric]:
        up = GaugeMetricFamily("dealpilot_ledger_up", "1 when the ledger query succeeded.")
        emails = GaugeMetricFamily(
            "dealpilot_ledger_emails",
            "Emails in the send ledger by brand, provider and status (sent, failed, ...).",
            labels=["brand", "provider", "status"],
        )
        calls = CounterMetricFamily(
            "dealpilot_ledger_ai_calls", "Logged AI calls by model.", labels=["model"]
        )
        tokens = CounterMetricFamily(
            "dealpilot_ledger_ai_tokens",
            "Logged AI tokens by model and kind.",
            labels=["model", "kind"],
        )
        cost = CounterMetricFamily(
            "dealpilot_ledger_ai_cost_usd", "Logged AI cost in USD by model.", labels=["model"]
        )
        priced = GaugeMetricFamily(
            "dealpilot_ledger_ai_model_priced",
            "1 when the model has a price, 0 when its cost counts as 0.",
            labels=["model"],
        )
        try:
            with Session(self._engine) as session:
                email_rows: list[Any] = list(
                    session.exec(
                        select(Brand.slug, EmailLog.provider, EmailLog.status, func.count())
                        .join(Brand, col(Brand.id) == col(EmailLog.brand_id))
                        .group_by(Brand.slug, EmailLog.provider, EmailLog.status)
                    ).all()
                )
                ai_rows: list[Any] = list(
                    session.exec(
                        select(
                            AIDecisionLog.model,
                            func.count(),
                            func.coalesce(func.sum(AIDecisionLog.prompt_tokens), 0),
                            func.coalesce(func.sum(AIDecisionLog.completion_tokens), 0),
                        ).group_by(AIDecisionLog.model)
                    ).all()
                )
        except SQLAlchemyError as exc:
            log.warning("metrics.ledger_unavailable", error_type=type(exc).__name__)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        for slug, provider, status, count in email_rows:
            emails.add_metric([slug, provider or "", str(status)], count)
        for model, count, prompt, completion in ai_rows:
            model = model or "unknown"
            calls.add_metric([model], count)
            tokens.add_metric([model, "prompt"], int(prompt))
            tokens.add_metric([model, "completion"], int(completion))
            usd = self._prices.cost(model, int(prompt), int(completion))
            cost.add_metric([model], usd or 0.0)
            priced.add_metric([model], 0 if usd is None else 1)
        return [up, emails, calls, tokens, cost, priced]
