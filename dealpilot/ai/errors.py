"""AI failures split by what a retry could fix.

Activities map these onto Temporal's ApplicationError(type=<class name>,
non_retryable=not retryable) in one place (activities/_errors.py): the OpenAI client's own
retries are off, Temporal owns retrying, and nothing ever looks at an error's message text to
decide.
"""

from __future__ import annotations

from dealpilot.core.errors import DealpilotError


class AIError(DealpilotError):
    """Base of every AI engine failure: a 502 `ai_unavailable` where it reaches the API.
    `upstream_status` is the AI server's own HTTP status, when it answered."""

    status_code = 502
    code = "ai_unavailable"
    retryable = False

    def __init__(self, message: str, *, upstream_status: int | None = None) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status


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
