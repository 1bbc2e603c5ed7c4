"""The ledger's totals (`dealpilot.reporting.ledger`) as Prometheus metrics, read from the
database at scrape time in a unit of work of their own: emails by brand, provider and status,
and AI calls, tokens and cost by model (served by `/metrics`, api/metrics.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dealpilot.core.metrics import PriceTable
from dealpilot.reporting.ledger import ledger_totals
from models import session_scope

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
        paused = GaugeMetricFamily(
            "dealpilot_brand_sending_paused",
            "1 while the deliverability guard holds a brand's sending paused (until resumed).",
            labels=["brand"],
        )
        cap = GaugeMetricFamily(
            "dealpilot_brand_daily_cap",
            "A brand's daily cap in force (the warm-up's while it warms up).",
            labels=["brand"],
        )
        try:
            with session_scope(self._engine) as session:
                totals = ledger_totals(session)
        except SQLAlchemyError as exc:
            log.warning("metrics.ledger_unavailable", error_type=type(exc).__name__)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        for row in totals.emails:
            emails.add_metric([row.brand, row.provider or "", row.status], row.count)
        for ai in totals.ai:
            model = ai.model or "unknown"
            calls.add_metric([model], ai.calls)
            tokens.add_metric([model, "prompt"], ai.prompt_tokens)
            tokens.add_metric([model, "completion"], ai.completion_tokens)
            usd = self._prices.cost(model, ai.prompt_tokens, ai.completion_tokens)
            cost.add_metric([model], usd or 0.0)
            priced.add_metric([model], 0 if usd is None else 1)
        for brand in totals.sending:
            paused.add_metric([brand.brand], 1 if brand.paused else 0)
            cap.add_metric([brand.brand], brand.daily_cap)
        return [up, emails, calls, tokens, cost, priced, paused, cap]
