"""What the `dealpilot` commands share: error exits and the end of a Temporal client command.
Light on imports so that `dealpilot --help` stays fast."""

from __future__ import annotations

import importlib
import os
import sys
from datetime import timedelta
from typing import Any, NoReturn

import typer

# How long a command waits for Temporal before it says so and carries on without it.
CONNECT_TIMEOUT = timedelta(seconds=10)


def fail(message: str) -> typer.Exit:
    """Printed in red; raise the result and the command exits 2."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=2)


def exit_after_client(code: int = 0) -> NoReturn:
    """Ends a short-lived Temporal client command without interpreter teardown: the client's
    Rust threads can outlive the event loop and abort finalization ("Fatal Python error:
    PyGILState_Release", exit code -6; temporalio/sdk-python#300) after correct output. Even
    a failed connect leaves those threads behind."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def entry_point(name: str) -> Any:
    """The API (`api.app:create_app`) and the worker (`worker:run_worker`) are entry points of
    their own. The CLI starts them by name, as uvicorn or a process manager would, and builds
    on none of their code: entry points never import one another (docs/architecture.md)."""
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)
