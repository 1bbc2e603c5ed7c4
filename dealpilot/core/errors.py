"""The one error family. Domain code raises these; each entry point maps them once: the API to
its JSON envelope (`api/errors.py`), the CLI to exit codes (`dealpilot/cli/support.py`),
activities to retryable or non-retryable `ApplicationError`s (`activities/_errors.py`).

`status_code` is the HTTP status the API answers with; the other entry points read the class
(`retryable` for activities). Branch on the type or on `code`, never on the message text."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    field: str | None = None
    problem: str


class DealpilotError(Exception):
    status_code = 400
    code = "bad_request"
    # A retry could succeed (a service that is down): activities let Temporal retry these.
    retryable = False
    # When a retry can succeed no sooner than this (a lease to run out), Temporal's next
    # attempt waits exactly this long instead of the retry policy's backoff.
    retry_after: timedelta | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[ErrorDetail] | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details
        self.headers = headers


class BadRequest(DealpilotError):
    status_code = 400
    code = "bad_request"


class Unauthorized(DealpilotError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str = "A valid API key is required") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class NotFound(DealpilotError):
    status_code = 404
    code = "not_found"


class Conflict(DealpilotError):
    status_code = 409
    code = "conflict"


class Unprocessable(DealpilotError):
    """The request is well formed but refers to things that do not fit together."""

    status_code = 422
    code = "invalid_request"


class InvalidInput(Unprocessable):
    """The input a person handed in (a file, a command's options) cannot be used as it is. The
    API answers 422 as for any Unprocessable; the CLI exits 2, as for a bad command line."""


class ServiceUnavailable(DealpilotError):
    status_code = 503
    code = "unavailable"
    retryable = True
