"""The one AI interface the activities use, and the choice of engine from settings."""

from __future__ import annotations

from typing import Protocol

import httpx

from dealpilot.ai.heuristic import HeuristicEngine
from dealpilot.ai.openai_engine import OpenAIEngine
from dealpilot.ai.schemas import (
    AIResult,
    BacklinkPitch,
    BacklinkPitchInput,
    ComposedEmail,
    ComposeInput,
    DealAnalysis,
    DealAnalysisInput,
    LeadInput,
    LeadScore,
    ReplyClassification,
    ReplyInput,
    Salutation,
    SalutationInput,
)
from dealpilot.core.settings import Settings


class AIEngine(Protocol):
    """Every method returns its value with model, tokens and latency for AIDecisionLog, and
    raises only AIRetryableError / AINonRetryableError (and their subclasses)."""

    @property
    def model_name(self) -> str: ...

    def with_prompts(self, texts: dict[str, str]) -> AIEngine:
        """The same engine using these prompt texts (type → text) instead of its own; what
        AIDecisions does with the active prompt rows before every call."""
        ...

    async def analyze_deal(self, data: DealAnalysisInput) -> AIResult[DealAnalysis]: ...

    async def compose_email(self, data: ComposeInput) -> AIResult[ComposedEmail]: ...

    async def classify_reply(self, data: ReplyInput) -> AIResult[ReplyClassification]: ...

    async def score_lead(self, data: LeadInput) -> AIResult[LeadScore]: ...

    async def generate_backlink_pitch(
        self, data: BacklinkPitchInput
    ) -> AIResult[BacklinkPitch]: ...

    async def smart_salutation(self, data: SalutationInput) -> AIResult[Salutation]: ...


def build_engine(
    settings: Settings,
    *,
    prompt_overrides: dict[str, str] | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> AIEngine:
    """OpenAI (or a compatible server) when OPENAI_API_KEY is set, the heuristic engine
    otherwise. Overrides are prompt_type → text from active AIPromptTemplate rows: unknown
    types are rejected here; a text that fails to render raises AIPromptError (not
    retryable) when used. The heuristic engine has no prompts, so it ignores them."""
    key = settings.openai_api_key
    if key is None or not key.get_secret_value().strip():
        return HeuristicEngine()
    return OpenAIEngine.from_settings(
        settings, prompt_overrides=prompt_overrides, http_client=http_client
    )
