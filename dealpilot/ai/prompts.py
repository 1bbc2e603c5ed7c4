"""Prompt templates: the shipped defaults and sandboxed rendering of (editable) prompts.

A prompt is one Jinja2 text with two parts, each introduced by a marker line::

    [[system]]
    You are ...
    [[user]]
    Contact: {{ contact_name }} ...

One text per prompt keeps the AIPromptTemplate row (``prompt_text``) editable as a single
field. The parts are split *before* rendering so a variable's value (a reply's text, say)
can never smuggle in a marker. The variables are the fields of the call's input model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

from dealpilot.ai.errors import AIPromptError
from dealpilot.ai.schemas import (
    BacklinkPitchInput,
    ComposeInput,
    DealAnalysisInput,
    LeadInput,
    ReplyInput,
    SalutationInput,
)

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "templates" / "prompts"

# Keys are dealpilot.core.enums.PromptType values (a StrEnum, so either form looks them up).
PROMPT_INPUTS: dict[str, type[BaseModel]] = {
    "analyze_deal": DealAnalysisInput,
    "compose_email": ComposeInput,
    "classify_reply": ReplyInput,
    "score_lead": LeadInput,
    "generate_backlink_pitch": BacklinkPitchInput,
    "smart_salutation": SalutationInput,
}

PROMPT_NAMES: dict[str, str] = {
    "analyze_deal": "Deal analysis",
    "compose_email": "Email composer",
    "classify_reply": "Reply classifier",
    "score_lead": "Lead scoring",
    "generate_backlink_pitch": "Backlink pitch",
    "smart_salutation": "Smart salutation",
}

_MARKER = re.compile(r"^\[\[(system|user)\]\][ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class DefaultPrompt:
    name: str
    prompt_type: str
    prompt_text: str
    variables: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RenderedPrompt:
    system: str
    user: str

    def messages(self) -> list[dict[str, str]]:
        out = [{"role": "system", "content": self.system}] if self.system else []
        out.append({"role": "user", "content": self.user})
        return out


@cache
def default_prompt_text(prompt_type: str) -> str:
    return (PROMPTS_DIR / f"{prompt_type}.j2").read_text(encoding="utf-8")


def default_prompts() -> list[DefaultPrompt]:
    """One row per prompt type, for seeding the AIPromptTemplate table."""
    return [
        DefaultPrompt(
            name=PROMPT_NAMES[prompt_type],
            prompt_type=prompt_type,
            prompt_text=default_prompt_text(prompt_type),
            variables=list(model.model_fields),
        )
        for prompt_type, model in PROMPT_INPUTS.items()
    ]


def split_prompt(text: str) -> tuple[str, str]:
    """(system, user) source parts; text without markers is all user message."""
    parts: dict[str, str] = {}
    matches = list(_MARKER.finditer(text))
    if not matches:
        return "", text
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        parts[m.group(1)] = text[m.end() : end].strip("\n")
    if "user" not in parts:
        raise AIPromptError("prompt has a [[system]] part but no [[user]] part")
    return parts.get("system", ""), parts["user"]


# Edited prompts are user input: the sandbox blocks attribute tricks, StrictUndefined
# turns a misspelt variable into an error instead of a silently empty prompt.
_env = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)


def render_prompt(text: str, variables: dict[str, Any]) -> RenderedPrompt:
    system_src, user_src = split_prompt(text)
    try:
        system = _env.from_string(system_src).render(variables).strip()
        user = _env.from_string(user_src).render(variables).strip()
    except jinja2.TemplateError as exc:  # syntax, undefined variable, sandbox violation
        raise AIPromptError(f"prompt template failed to render: {exc}") from exc
    return RenderedPrompt(system=system, user=user)


class PromptBook:
    """The prompts an engine uses: defaults, replaced per type by active DB overrides."""

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        unknown = set(overrides or {}) - set(PROMPT_INPUTS)
        if unknown:
            raise AIPromptError(f"unknown prompt types: {sorted(unknown)}")
        self._texts = {t: default_prompt_text(t) for t in PROMPT_INPUTS}
        self._texts.update(overrides or {})

    def text(self, prompt_type: str) -> str:
        return self._texts[prompt_type]

    def render(self, prompt_type: str, payload: BaseModel) -> RenderedPrompt:
        return render_prompt(self._texts[prompt_type], payload.model_dump(mode="json"))


def check_prompt_text(text: str) -> None:
    """An edited prompt's shape and template syntax (its variables are checked when it
    renders): AIPromptError naming what is wrong."""
    for part in split_prompt(text):
        try:
            _env.parse(part)
        except jinja2.TemplateSyntaxError as exc:
            raise AIPromptError(f"line {exc.lineno}: {exc.message}") from exc
