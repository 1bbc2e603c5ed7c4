"""AI failures split by what a retry could fix.

The activity layer maps these onto Temporal's ApplicationError(non_retryable=...): the
OpenAI client's own retries are off, Temporal owns retrying, and nothing here ever looks
at an error's message text to decide.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError


class AIError(Exception):
    """Base of every AI engine failure."""

    retryable: bool = False

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class AIRetryableError(AIError):
    """Transient: connection trouble, timeouts, rate limits, 5xx, an unparseable sample."""

    retryable = True


class AINonRetryableError(AIError):
    """Retrying the same request cannot help: bad request, auth, quota, refusal, bad prompt."""

    retryable = False


class AIMalformedResponseError(AIRetryableError):
    """The model answered, but not in the requested schema.

    Retryable on purpose: sampling is not deterministic, so the next attempt usually parses;
    Temporal's retry policy caps how often we pay for that.
    """


class AIRefusalError(AINonRetryableError):
    """The model refused; asking the same thing again will be refused again."""


class AIPromptError(AINonRetryableError):
    """A prompt template (possibly user-edited) fails to render: a configuration problem."""


def to_application_error(exc: AIError) -> ApplicationError:
    """The Temporal error an activity raises for an AI failure."""
    return ApplicationError(
        str(exc),
        {"status_code": exc.status_code},
        type=type(exc).__name__,
        non_retryable=not exc.retryable,
    )
