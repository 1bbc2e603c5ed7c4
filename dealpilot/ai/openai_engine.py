"""The OpenAI engine: structured outputs into our pydantic models, Temporal owns retries.

Works with any OpenAI-compatible server (Ollama, vLLM) through OPENAI_BASE_URL. Errors are
sorted by exception type and status code only (PROVIDERS.md, OpenAI):
retryable — connection errors, timeouts, 408/409, 429 (but not insufficient_quota), 5xx,
and answers that do not parse (another sample usually does); not retryable — other 4xx,
429 insufficient_quota, refusals and content-filter stops.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar, cast

import httpx
import openai
import pydantic
from openai import AsyncOpenAI
from pydantic import BaseModel

from dealpilot.ai.errors import (
    AIError,
    AIMalformedResponseError,
    AINonRetryableError,
    AIRefusalError,
    AIRetryableError,
)
from dealpilot.ai.prompts import PromptBook
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

T = TypeVar("T", bound=BaseModel)

_RETRYABLE_STATUS = frozenset({408, 409, 429})


def map_openai_error(exc: openai.OpenAIError | pydantic.ValidationError) -> AIError:
    """Our error for one of the SDK's (or pydantic's, when parsing the answer)."""
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
        return AIRetryableError(f"OpenAI unreachable: {type(exc).__name__}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429 and exc.code == "insufficient_quota":
            # Out of credit: no retry will succeed until someone pays.
            return AINonRetryableError("OpenAI quota exhausted", upstream_status=status)
        if status in _RETRYABLE_STATUS or status >= 500:
            return AIRetryableError(f"OpenAI error {status}", upstream_status=status)
        return AINonRetryableError(
            f"OpenAI rejected the request ({status})", upstream_status=status
        )
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return AIRefusalError("OpenAI stopped the answer with its content filter")
    if isinstance(exc, openai.LengthFinishReasonError):
        return AIMalformedResponseError("OpenAI answer was cut off at the token limit")
    if isinstance(exc, openai.APIResponseValidationError | pydantic.ValidationError):
        return AIMalformedResponseError(f"OpenAI answer did not match the schema: {exc}")
    # Anything else from the SDK is unexpected; let Temporal's bounded retries have a go.
    return AIRetryableError(f"OpenAI error: {type(exc).__name__}")


class OpenAIEngine:
    def __init__(
        self, client: AsyncOpenAI, model: str, *, prompts: PromptBook | None = None
    ) -> None:
        self._client = client
        self._model = model
        self._prompts = prompts or PromptBook()

    @property
    def model_name(self) -> str:
        return self._model

    def with_prompts(self, texts: dict[str, str]) -> OpenAIEngine:
        """Shares the HTTP client; only the prompts differ."""
        return OpenAIEngine(self._client, self._model, prompts=PromptBook(texts))

    async def aclose(self) -> None:
        """Closes the HTTP client (the caller's own http_client included)."""
        await self._client.close()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        prompt_overrides: dict[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> OpenAIEngine:
        key = settings.openai_api_key
        client = AsyncOpenAI(
            api_key=key.get_secret_value() if key is not None else None,
            base_url=settings.openai_base_url,
            timeout=settings.openai_timeout.total_seconds(),
            max_retries=0,  # Temporal's retry policy is the only retry layer
            # The SDK accepts httpx.AsyncClient as well as its own httpx2 client type.
            http_client=cast(Any, http_client),
        )
        return cls(client, settings.openai_model, prompts=PromptBook(prompt_overrides))

    async def _call(self, prompt_type: str, payload: BaseModel, result: type[T]) -> AIResult[T]:
        prompt = self._prompts.render(prompt_type, payload)
        started = time.perf_counter()
        try:
            completion = await self._client.chat.completions.parse(
                model=self._model,
                messages=cast(Any, prompt.messages()),
                response_format=result,
            )
        except (openai.OpenAIError, pydantic.ValidationError) as exc:
            raise map_openai_error(exc) from exc
        latency_ms = int((time.perf_counter() - started) * 1000)
        if not completion.choices:
            raise AIMalformedResponseError("OpenAI answer had no choices")
        message = completion.choices[0].message
        if message.refusal:
            raise AIRefusalError(f"model refused: {message.refusal}")
        if message.parsed is None:
            raise AIMalformedResponseError("OpenAI answer had no content to parse")
        usage = completion.usage
        return AIResult[T](
            value=message.parsed,
            model=completion.model or self._model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_ms=latency_ms,
        )

    async def analyze_deal(self, data: DealAnalysisInput) -> AIResult[DealAnalysis]:
        return await self._call("analyze_deal", data, DealAnalysis)

    async def compose_email(self, data: ComposeInput) -> AIResult[ComposedEmail]:
        return await self._call("compose_email", data, ComposedEmail)

    async def classify_reply(self, data: ReplyInput) -> AIResult[ReplyClassification]:
        return await self._call("classify_reply", data, ReplyClassification)

    async def score_lead(self, data: LeadInput) -> AIResult[LeadScore]:
        return await self._call("score_lead", data, LeadScore)

    async def generate_backlink_pitch(self, data: BacklinkPitchInput) -> AIResult[BacklinkPitch]:
        return await self._call("generate_backlink_pitch", data, BacklinkPitch)

    async def smart_salutation(self, data: SalutationInput) -> AIResult[Salutation]:
        return await self._call("smart_salutation", data, Salutation)
