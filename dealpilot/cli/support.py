"""What the `dealpilot` commands share: the one mapping of domain errors to exit codes and
messages, and the end of a Temporal client command. Light on imports so that `dealpilot
--help` stays fast.

Every command of a `CLI` app runs inside `domain_errors`: a `DealpilotError` (and any of its
subclasses: the importers' and the composer's errors included) or a pydantic
`ValidationError` ends the command with `error [code]: message`, one line per detail, and
exit code 1 (`EXIT_ERROR`), never a traceback. Commands just call the domain. Exit code 2
(`EXIT_USAGE`) is for a command line that names something that does not exist (`fail`), as
click uses it for bad options, and for an `InvalidInput` (a file or options the command cannot
use: the importers' errors)."""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError

from dealpilot.core.errors import DealpilotError, InvalidInput

if TYPE_CHECKING:
    from dealpilot.core.settings import Settings
    from dealpilot.temporal.deals import DealWorkflows

F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
EXIT_USAGE = 2

# How long a command waits for Temporal before it says so and carries on without it.
CONNECT_TIMEOUT = timedelta(seconds=10)


def fail(message: str) -> typer.Exit:
    """Printed in red; raise the result and the command exits 2 (a bad command line)."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=EXIT_USAGE)


@contextmanager
def domain_errors() -> Iterator[None]:
    """The domain's errors as a short message and exit code 1 (2 for `InvalidInput`), never a
    traceback."""
    try:
        yield
    except DealpilotError as exc:
        typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
        for detail in exc.details or []:
            typer.echo(f"  {detail.field or '-'}: {detail.problem}", err=True)
        raise typer.Exit(EXIT_USAGE if isinstance(exc, InvalidInput) else EXIT_ERROR) from exc
    except ValidationError as exc:
        typer.echo("error [validation_error]: the request is not valid", err=True)
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "-"
            typer.echo(f"  {field}: {err['msg']}", err=True)
        raise typer.Exit(EXIT_ERROR) from exc


def _mapped(command: F) -> F:
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        with domain_errors():
            return command(*args, **kwargs)

    return run  # type: ignore[return-value]


class CLI(typer.Typer):
    """A Typer app whose commands map domain errors through `domain_errors`."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(command: F) -> F:
            register(_mapped(command))
            return command

        return decorator


def exit_after_client(code: int = 0) -> NoReturn:
    """Ends a short-lived Temporal client command without interpreter teardown: the client's
    Rust threads can outlive the event loop and abort finalization ("Fatal Python error:
    PyGILState_Release", exit code -6; temporalio/sdk-python#300) after correct output. Even
    a failed connect leaves those threads behind."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


async def connect_workflows(settings: Settings) -> DealWorkflows:
    """The deal workflow client for a command; 503-style `ServiceUnavailable`
    (`temporal_unavailable`) when Temporal does not answer within CONNECT_TIMEOUT."""
    import asyncio

    from dealpilot.core.errors import ServiceUnavailable
    from dealpilot.temporal.connection import connect_temporal
    from dealpilot.temporal.deals import DealWorkflows

    try:
        client = await asyncio.wait_for(connect_temporal(settings), CONNECT_TIMEOUT.total_seconds())
    except Exception as exc:  # unreachable, bad TLS settings, timeout
        raise ServiceUnavailable(
            f"Temporal at {settings.temporal_address} is unreachable ({type(exc).__name__})",
            code="temporal_unavailable",
        ) from exc
    return DealWorkflows(client, settings.temporal_task_queue)


def entry_point(name: str) -> Any:
    """The API (`api.app:create_app`) and the worker (`worker:run_worker`) are entry points of
    their own. The CLI starts them by name, as uvicorn or a process manager would, and builds
    on none of their code: entry points never import one another (docs/architecture.md)."""
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)
