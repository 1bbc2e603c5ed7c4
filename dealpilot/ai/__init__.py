"""The AI engine: one interface (AIEngine), an OpenAI engine and an offline heuristic one."""

from dealpilot.ai.engine import AIEngine, build_engine
from dealpilot.ai.errors import (
    AIError,
    AIMalformedResponseError,
    AINonRetryableError,
    AIPromptError,
    AIRefusalError,
    AIRetryableError,
)
from dealpilot.ai.heuristic import HeuristicEngine
from dealpilot.ai.openai_engine import OpenAIEngine
from dealpilot.ai.prompts import DefaultPrompt, PromptBook, default_prompts, render_prompt
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

__all__ = [
    "AIEngine",
    "HeuristicEngine",
    "OpenAIEngine",
    "build_engine",
    "AIError",
    "AIMalformedResponseError",
    "AINonRetryableError",
    "AIPromptError",
    "AIRefusalError",
    "AIResult",
    "AIRetryableError",
    "BacklinkPitch",
    "BacklinkPitchInput",
    "ComposeInput",
    "ComposedEmail",
    "DealAnalysis",
    "DealAnalysisInput",
    "DefaultPrompt",
    "LeadInput",
    "LeadScore",
    "PromptBook",
    "ReplyClassification",
    "ReplyInput",
    "Salutation",
    "SalutationInput",
    "default_prompts",
    "render_prompt",
]
