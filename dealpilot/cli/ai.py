"""`dealpilot ai classify|eval`: read replies with an engine, and measure how well it reads.

`--engine offline` needs no network; `--engine openai` talks to OpenAI or any compatible
server (`--base-url`, `--model`; the key from OPENAI_API_KEY, any text for local servers)."""

from __future__ import annotations

import asyncio
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dealpilot.cli.support import CLI
from dealpilot.core.settings import get_settings

if TYPE_CHECKING:
    from dealpilot.ai import AIEngine

ai_app = CLI(help="Read replies with an AI engine and measure how well it reads them.")


class EngineName(StrEnum):
    offline = "offline"
    openai = "openai"


EngineOpt = Annotated[
    EngineName, typer.Option(help="offline: the heuristic engine; openai: OpenAI-compatible.")
]
BaseUrlOpt = Annotated[
    str | None, typer.Option(help="OpenAI-compatible server (default OPENAI_BASE_URL).")
]
ModelOpt = Annotated[str | None, typer.Option(help="Model name (default OPENAI_MODEL).")]


def _engine(engine: EngineName, base_url: str | None, model: str | None) -> AIEngine:
    from pydantic import SecretStr

    from dealpilot.ai import HeuristicEngine, OpenAIEngine

    if engine == EngineName.offline:
        return HeuristicEngine()
    settings = get_settings()
    update: dict[str, object] = {}
    if base_url:
        update["openai_base_url"] = base_url
    if model:
        update["openai_model"] = model
    if settings.openai_api_key is None:  # local servers take any key; the SDK wants one
        update["openai_api_key"] = SecretStr("unused")
    return OpenAIEngine.from_settings(settings.model_copy(update=update))


async def _classify(engine: AIEngine) -> None:
    from dealpilot.ai.evaluation import parse_lines, parse_reply, read_one

    for obj in parse_lines(sys.stdin):
        reading = await read_one(engine, parse_reply(obj), obj.get("id"))
        typer.echo(json.dumps(reading.to_json()))


@ai_app.command()
def classify(
    engine: EngineOpt = EngineName.offline,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
) -> None:
    """Read JSON lines of replies on stdin (`text`, optional `subject`, `from_email`,
    `headers`, `received_at`, `id`); write one JSON line per reply: intent, return_date,
    confidence, sentiment, new_address and what decided it."""
    asyncio.run(_classify(_engine(engine, base_url, model)))


@ai_app.command(name="eval")
def evaluate(
    file: Annotated[Path, typer.Argument(help="Labelled replies, JSON lines.", exists=True)],
    engine: EngineOpt = EngineName.offline,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    misses: Annotated[bool, typer.Option(help="List every miss.")] = False,
) -> None:
    """Accuracy per intent, a confusion matrix and exact return dates for labelled replies
    (`intent`, optional `return_date`, `new_address` on each line)."""
    from dealpilot.ai.evaluation import evaluate as run
    from dealpilot.ai.evaluation import format_report, load_labelled

    ai = _engine(engine, base_url, model)
    report = asyncio.run(run(ai, load_labelled(file)))
    typer.echo(format_report(report, engine=ai.model_name, show_misses=misses))
