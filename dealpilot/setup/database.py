"""First-run setup shared by the CLI, the worker and the API: the database at the newest
schema with the default brands, pipelines, templates and prompts, and the API key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import Engine

from dealpilot.core.settings import Settings
from dealpilot.setup.seed import seed as run_seed
from models import make_engine, migrate, session_scope

API_KEY_FILE = "api_key"


def prepare_database(settings: Settings, *, seed: bool = True) -> Engine:
    """Migrate to the newest schema and (idempotently) seed the default brands and pipelines."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    migrate(url)
    engine = make_engine(url)
    if seed:
        with session_scope(engine) as session:
            run_seed(session)
    return engine


def api_keys(settings: Settings, *, generate: bool = False) -> tuple[set[str], str | None]:
    """The accepted API keys, and a key generated into the data directory when none is set.

    Returns (keys, generated_key). `generated_key` is only non-None when the key lives in the
    data directory, so `dealpilot dev` can print it for the developer.
    """
    if settings.api_key_list:
        return set(settings.api_key_list), None
    path = settings.data_dir / API_KEY_FILE
    if not path.exists():
        if not generate:
            return set(), None
        _write_private(path, secrets.token_urlsafe(32))
    key = path.read_text().strip()
    return {key}, key


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")


ADMIN_PASSWORD_FILE = "admin_password"
FIRST_ADMIN_EMAIL = "admin@dealpilot.dev"


def first_admin_login(settings: Settings, engine: Engine) -> tuple[str, Path] | None:
    """`dealpilot dev`'s first start: when the database has no user, an admin
    (`admin@dealpilot.dev`) with a generated password, written (0600) to the data directory
    for the banner to show. Returns (email, password file) while that file exists."""
    from dealpilot.accounts import first_admin

    path = settings.data_dir / ADMIN_PASSWORD_FILE
    password = secrets.token_urlsafe(12)
    with session_scope(engine) as session:
        created = first_admin(session, email=FIRST_ADMIN_EMAIL, password=password)
        if created is not None:
            _write_private(path, password)
    if not path.exists():
        return None
    return FIRST_ADMIN_EMAIL, path
