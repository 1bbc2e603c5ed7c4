"""The one mapping from our errors to the `ApplicationError`s Temporal retries or gives up on.

The type is the error's class name: the workflows' retry policies name some of them
("PermanentMailError", "InvalidDeal", "AINonRetryableError"); whether a retry could help is the
class's own `retryable`, never the message text. Anything else (a database error, a bug) leaves
unchanged and Temporal retries it as usual.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast

from temporalio.exceptions import ApplicationError

from dealpilot.ai import AIError
from dealpilot.core.errors import DealpilotError

P = ParamSpec("P")
R = TypeVar("R")


def to_application_error(exc: BaseException) -> ApplicationError | None:
    """The Temporal error an activity raises for `exc`, or None when it is not one of ours."""
    if isinstance(exc, AIError):
        # The upstream HTTP status, for a person reading the failure in the Web UI.
        return ApplicationError(
            str(exc),
            {"status_code": exc.upstream_status},
            type=type(exc).__name__,
            non_retryable=not exc.retryable,
        )
    if isinstance(exc, DealpilotError):
        return ApplicationError(
            str(exc),
            type=type(exc).__name__,
            non_retryable=not exc.retryable,
            next_retry_delay=exc.retry_after,
        )
    return None


@contextmanager
def application_errors() -> Iterator[None]:
    try:
        yield
    except ApplicationError:
        raise
    except Exception as exc:
        mapped = to_application_error(exc)
        if mapped is None:
            raise
        raise mapped from exc


def maps_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Wraps an activity (sync or async) in `application_errors`; put it under `activity.defn`."""
    if inspect.iscoroutinefunction(fn):
        call = cast(Callable[P, Awaitable[Any]], fn)

        @functools.wraps(fn)
        async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
            with application_errors():
                return await call(*args, **kwargs)

        return cast(Callable[P, R], run_async)

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with application_errors():
            return fn(*args, **kwargs)

    return run
