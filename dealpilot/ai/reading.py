"""Reading a reply the way the product does: the compliance net first, then the engine.

Used by the deal's classify activity (dealpilot/ai/calls.py) and the eval harness alike, so
the figures `dealpilot ai eval` prints are what deals get."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dealpilot.ai.compliance import NET_MODEL, net_verdict, stop_request
from dealpilot.ai.schemas import AIResult, ReplyClassification, ReplyInput

if TYPE_CHECKING:
    from dealpilot.ai.engine import AIEngine


async def read_reply(
    engine: AIEngine, data: ReplyInput
) -> tuple[AIResult[ReplyClassification], bool]:
    """The reading and whether the compliance net made it (the engine is then not asked)."""
    started = time.perf_counter()
    reason = stop_request(data)
    if reason is not None:
        latency = int((time.perf_counter() - started) * 1000)
        return AIResult[ReplyClassification](
            value=net_verdict(reason), model=NET_MODEL, latency_ms=latency
        ), True
    return await engine.classify_reply(data), False
