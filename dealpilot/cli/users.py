"""`dealpilot users ...`: console accounts for ops, the same service as the console
(`dealpilot.accounts`). Passwords are read from a prompt (hidden, asked twice) or from
stdin with --password-stdin, never from the command line (shell history, `ps`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from dealpilot.cli.support import CLI, fail
from dealpilot.core.settings import get_settings
from models import UserRole

users_app = CLI(help="Console users: create, reset a password.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@users_app.command("create")
def create(
    email: str,
    role: Annotated[UserRole, typer.Option(help="admin: everything; operator: its brands")] = (
        UserRole.operator
    ),
    brand: Annotated[
        list[str] | None, typer.Option("--brand", help="A brand slug an operator may see")
    ] = None,
    name: str = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Create a user who signs in to the console at /console/."""
    from dealpilot.accounts import create_user
    from dealpilot.setup.database import prepare_database
    from models import session_scope

    brands = brand or []
    if role == UserRole.operator and not brands:
        raise fail("an operator needs at least one --brand")
    password = _password(password_stdin)
    engine = prepare_database(get_settings(), seed=False)
    try:
        with session_scope(engine) as session:
            user = create_user(
                session, email=email, password=password, role=role, name=name, brands=brands
            )
            shown = f"{user.email} ({user.role}{': ' + ', '.join(brands) if brands else ''})"
    finally:
        engine.dispose()
    typer.echo(f"created {shown}")


@users_app.command("reset-password")
def reset(
    email: str, password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False
) -> None:
    """Set a new password; every session of the user is signed out."""
    from dealpilot.accounts import reset_password
    from dealpilot.setup.database import prepare_database
    from models import session_scope

    password = _password(password_stdin)
    engine = prepare_database(get_settings(), seed=False)
    try:
        with session_scope(engine) as session:
            reset_password(session, email, password)
    finally:
        engine.dispose()
    typer.echo(f"password reset for {email.strip().lower()}; their sessions are signed out")
