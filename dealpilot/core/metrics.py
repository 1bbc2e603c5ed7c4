"""Prometheus metrics. Each process exports its own registry; nothing is shared between
processes (no multiprocess mode), so Prometheus scrapes every API replica and every worker.

Two kinds of series:

- Live counters, incremented where things happen in *this* process: HTTP requests (API),
  inbound events (API; the worker's inbox poller), emails sent and failed by provider and AI
  calls, tokens and cost by model (the worker, where activities run).
- Ledger series (`dealpilot_ledger_*`), read from the database on each scrape of the API's
  `/metrics` by `LedgerCollector`: emails by brand, provider and status, and AI calls, tokens and
  cost by model. They are the same whichever process sent the email or called the model, and
  survive restarts, so one API scrape answers "how many emails has each brand sent".

AI cost is tokens times a per-model price (USD per million tokens, input and output) from
`AI_PRICES`, overridable with the AI_PRICES setting. A model with no price still has its tokens
counted; its cost is 0 and `dealpilot_ai_model_priced{model}` is 0, so a dashboard can flag it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = structlog.get_logger(__name__)

__all__ = [
    "AI_PRICES",
    "CONTENT_TYPE_LATEST",
    "PriceTable",
    "configure_prices",
    "exposition",
    "record_ai_call",
    "record_ai_failure",
    "record_email_failed",
    "record_email_sent",
    "record_http_request",
    "record_intake",
    "serve",
]

# USD per million tokens (input, output), list prices as of 2025. A dated model name such as
# "gpt-4o-mini-2024-07-18" takes the price of its longest listed prefix ("gpt-4o-mini").
AI_PRICES: Mapping[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "gpt-3.5-turbo": (0.50, 1.50),
    # The built-in rule engine (dealpilot.ai.heuristic) runs locally: free, but priced, so it
    # is not reported as unknown.
    "heuristic": (0.0, 0.0),
}

HTTP_REQUESTS = Counter(
    "dealpilot_http_requests",
    "HTTP requests answered by the API, by route template (never the raw path).",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "dealpilot_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
)
INTAKE_EVENTS = Counter(
    "dealpilot_intake_events",
    "Inbound events (webhooks, tracking, unsubscribes, polled replies) by source; outcome is "
    "matched (to a deal), unmatched or duplicate (already stored).",
    ["source", "outcome"],
)
EMAILS_SENT = Counter(
    "dealpilot_emails_sent", "Emails a provider accepted in this process.", ["provider"]
)
EMAIL_FAILURES = Counter(
    "dealpilot_email_failures",
    "Sends that failed in this process, by provider and error code.",
    ["provider", "code"],
)
BRAND_PAUSES = Counter(
    "dealpilot_brand_sending_pauses",
    "Times the deliverability guard paused a brand's sending in this process, by brand and "
    "cause (bounces, complaints); whether a brand is paused now is dealpilot_brand_sending_paused.",
    ["brand", "cause"],
)
AI_CALLS = Counter(
    "dealpilot_ai_calls",
    "AI engine calls in this process, by model, decision type and outcome.",
    ["model", "decision", "outcome"],
)
AI_TOKENS = Counter(
    "dealpilot_ai_tokens", "AI tokens used in this process, by model and kind.", ["model", "kind"]
)
AI_COST = Counter(
    "dealpilot_ai_cost_usd", "AI cost in USD in this process (see AI_PRICES).", ["model"]
)
AI_MODEL_PRICED = Gauge(
    "dealpilot_ai_model_priced",
    "1 when the model has a price, 0 when its cost is counted as 0 (set AI_PRICES).",
    ["model"],
)


class PriceTable:
    """Per-model prices: the built-in table with `overrides` on top."""

    def __init__(self, overrides: Mapping[str, tuple[float, float]] | None = None) -> None:
        self._prices = {**AI_PRICES, **(overrides or {})}

    def price(self, model: str) -> tuple[float, float] | None:
        if model in self._prices:
            return self._prices[model]
        prefixes = [m for m in self._prices if model.startswith(m + "-")]
        return self._prices[max(prefixes, key=len)] if prefixes else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD, or None when the model has no price."""
        price = self.price(model)
        if price is None:
            return None
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000


_prices = PriceTable()
_unpriced_logged: set[str] = set()
_lock = threading.Lock()


def configure_prices(overrides: Mapping[str, tuple[float, float]] | None) -> PriceTable:
    """Sets this process's price table (the AI_PRICES setting); returns it."""
    global _prices
    _prices = PriceTable(overrides)
    return _prices


# ------------------------------------------------------------------------------ recorders
def record_http_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def record_intake(source: str, *, created: bool, matched: bool) -> None:
    outcome = "duplicate" if not created else "matched" if matched else "unmatched"
    INTAKE_EVENTS.labels(source, outcome).inc()


def record_email_sent(provider: str) -> None:
    EMAILS_SENT.labels(provider).inc()


def record_email_failed(provider: str, code: str) -> None:
    EMAIL_FAILURES.labels(provider, code).inc()


def record_brand_paused(brand: str, cause: str) -> None:
    BRAND_PAUSES.labels(brand, cause).inc()


def record_ai_call(model: str, decision: str, prompt_tokens: int, completion_tokens: int) -> None:
    AI_CALLS.labels(model, decision, "ok").inc()
    AI_TOKENS.labels(model, "prompt").inc(prompt_tokens)
    AI_TOKENS.labels(model, "completion").inc(completion_tokens)
    cost = _prices.cost(model, prompt_tokens, completion_tokens)
    AI_MODEL_PRICED.labels(model).set(0 if cost is None else 1)
    if cost is None:
        with _lock:
            first = model not in _unpriced_logged
            _unpriced_logged.add(model)
        if first:
            log.warning("metrics.ai_model_unpriced", model=model, hint="set AI_PRICES")
        cost = 0.0
    AI_COST.labels(model).inc(cost)


def record_ai_failure(model: str, decision: str) -> None:
    AI_CALLS.labels(model, decision, "error").inc()


def exposition(*registries: CollectorRegistry) -> bytes:
    """The text exposition of this process's registry and any extra ones (the API's ledger)."""
    return b"".join(generate_latest(r) for r in (REGISTRY, *registries))


def serve(host: str, port: int) -> Any:
    """Serves this process's registry on http://host:port/metrics (the worker). Returns the
    server; `.shutdown()` stops it."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
    return server
