"""The AI engine: one interface (AIEngine), an OpenAI engine and an offline heuristic one."""

from activities.ai.engine import AIEngine, build_engine
from activities.ai.errors import (
    AIError,
    AIMalformedResponseError,
    AINonRetryableError,
    AIPromptError,
    AIRefusalError,
    AIRetryableError,
    to_application_error,
)
from activities.ai.heuristic import HeuristicEngine
from activities.ai.openai_engine import OpenAIEngine
from activities.ai.prompts import DefaultPrompt, PromptBook, default_prompts, render_prompt
from activities.ai.schemas import (
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
    "to_application_error",
]
