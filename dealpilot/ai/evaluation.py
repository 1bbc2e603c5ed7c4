"""Measuring how well an engine reads replies: `dealpilot ai classify` and `dealpilot ai eval`.

Input lines are JSON objects with the reply (`text`, optional `subject`, `from_email`,
`headers`, `received_at`) and, for evaluation, its labels (`intent`, optional
`return_date`, `new_address`). Each reply is read the way the product reads it: the
compliance net first, then the engine (dealpilot/ai/reading.py).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dealpilot.ai.engine import AIEngine
from dealpilot.ai.reading import read_reply
from dealpilot.ai.schemas import REPLY_INTENTS, ReplyInput
from dealpilot.core.errors import BadRequest

REPLY_FIELDS = ("text", "subject", "from_email", "headers", "received_at")


@dataclass(frozen=True)
class Labelled:
    id: str
    reply: ReplyInput
    intent: str
    return_date: date | None = None
    new_address: str | None = None


@dataclass(frozen=True)
class Reading:
    """One line of `dealpilot ai classify`'s output."""

    id: str | None
    intent: str
    return_date: date | None
    confidence: float
    sentiment: str
    new_address: str | None
    by: str  # "compliance-net" or the engine's model name
    latency_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            **({"id": self.id} if self.id is not None else {}),
            "intent": self.intent,
            "return_date": self.return_date.isoformat() if self.return_date else None,
            "confidence": round(self.confidence, 3),
            "sentiment": self.sentiment,
            "new_address": self.new_address,
            "by": self.by,
        }


def parse_reply(obj: dict[str, Any]) -> ReplyInput:
    try:
        return ReplyInput.model_validate({k: obj[k] for k in REPLY_FIELDS if k in obj})
    except ValidationError as exc:
        raise BadRequest(f"not a reply: {exc.errors()[0]['msg']}") from exc


def parse_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise BadRequest(f"line {number}: an object with a `text` string is needed")
        rows.append(obj)
    return rows


def load_labelled(path: Path) -> list[Labelled]:
    rows = parse_lines(path.read_text(encoding="utf-8").splitlines())
    labelled = []
    for number, obj in enumerate(rows, 1):
        intent = obj.get("intent")
        if intent not in REPLY_INTENTS:
            raise BadRequest(f"{path.name} item {number}: unknown intent {intent!r}")
        labelled.append(
            Labelled(
                id=str(obj.get("id", number)),
                reply=parse_reply(obj),
                intent=intent,
                return_date=date.fromisoformat(obj["return_date"])
                if obj.get("return_date")
                else None,
                new_address=obj.get("new_address"),
            )
        )
    return labelled


async def read_one(engine: AIEngine, reply: ReplyInput, id: str | None = None) -> Reading:
    started = time.perf_counter()
    result, by_net = await read_reply(engine, reply)
    elapsed = (time.perf_counter() - started) * 1000
    value = result.value
    return Reading(
        id=id,
        intent=value.intent,
        return_date=value.return_date,
        confidence=value.confidence,
        sentiment=value.sentiment,
        new_address=value.new_address,
        by="compliance-net" if by_net else result.model,
        latency_ms=elapsed,
    )


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    per_intent: Counter[str] = field(default_factory=Counter)  # labelled per intent
    right_per_intent: Counter[str] = field(default_factory=Counter)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (label, read)
    dates_total: int = 0  # out of office replies labelled with a return date
    dates_exact: int = 0
    addresses_total: int = 0  # referrals labelled with a new address
    addresses_exact: int = 0
    ms_per_reply: float = 0.0
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def date_accuracy(self) -> float:
        return self.dates_exact / self.dates_total if self.dates_total else 0.0


def score(labelled: list[Labelled], readings: list[Reading]) -> Report:
    report = Report(total=len(labelled))
    for item, reading in zip(labelled, readings, strict=True):
        report.per_intent[item.intent] += 1
        report.confusion[(item.intent, reading.intent)] += 1
        if reading.intent == item.intent:
            report.correct += 1
            report.right_per_intent[item.intent] += 1
        else:
            report.misses.append(f"{item.id}: {item.intent} read as {reading.intent}")
        if item.intent == "out_of_office" and item.return_date is not None:
            report.dates_total += 1
            if reading.return_date == item.return_date:
                report.dates_exact += 1
            else:
                report.misses.append(
                    f"{item.id}: return date {item.return_date} read as {reading.return_date}"
                )
        if item.intent == "referral" and item.new_address is not None:
            report.addresses_total += 1
            report.addresses_exact += reading.new_address == item.new_address
    if readings:
        report.ms_per_reply = sum(r.latency_ms for r in readings) / len(readings)
    return report


async def evaluate(engine: AIEngine, labelled: list[Labelled]) -> Report:
    readings = [await read_one(engine, item.reply, item.id) for item in labelled]
    return score(labelled, readings)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def format_report(report: Report, *, engine: str, show_misses: bool = False) -> str:
    intents = [i for i in REPLY_INTENTS if report.per_intent[i]]
    width = max(len(i) for i in REPLY_INTENTS)
    lines = [
        f"engine: {engine}",
        f"intent accuracy: {_pct(report.correct, report.total)} ({report.correct}/{report.total})",
        f"return dates exact: {_pct(report.dates_exact, report.dates_total)} "
        f"({report.dates_exact}/{report.dates_total} out-of-office replies giving one)",
        f"referral addresses exact: {_pct(report.addresses_exact, report.addresses_total)} "
        f"({report.addresses_exact}/{report.addresses_total})",
        f"time per reply: {report.ms_per_reply:.2f} ms",
        "",
        "accuracy per intent:",
    ]
    for intent in intents:
        right, total = report.right_per_intent[intent], report.per_intent[intent]
        lines.append(f"  {intent:<{width}}  {_pct(right, total)}  ({right}/{total})")
    read_as = sorted({read for _, read in report.confusion}, key=REPLY_INTENTS.index)
    short = {i: i[:6] for i in read_as}
    lines += ["", "confusion matrix (rows: label, columns: read as):"]
    lines.append(" " * (width + 2) + " ".join(f"{short[i]:>6}" for i in read_as))
    for intent in intents:
        counts = " ".join(f"{report.confusion[(intent, i)] or '.':>6}" for i in read_as)
        lines.append(f"  {intent:<{width}}{counts}")
    if show_misses and report.misses:
        lines += ["", "misses:", *(f"  {m}" for m in report.misses)]
    return "\n".join(lines)
