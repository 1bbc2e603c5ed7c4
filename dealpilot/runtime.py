"""Wiring shared by the CLI, the worker and the API: engine, API keys, Temporal client."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import Engine
from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter

from dealpilot.settings import Settings
from models import make_engine, migrate, session_scope

API_KEY_FILE = "api_key"


def prepare_database(settings: Settings, *, seed: bool = True) -> Engine:
    """Migrate to the newest schema and (idempotently) seed the default brands and pipelines."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    migrate(url)
    engine = make_engine(url)
    if seed:
        from models.seed import seed as run_seed

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


async def connect_temporal(settings: Settings) -> Client:
    tls: bool | TLSConfig = False
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key,
        data_converter=pydantic_data_converter,
        tls=tls if api_key is None else True,
    )


async def schedule_jobs(client: Client, settings: Settings, engine: Engine) -> dict[str, str]:
    """Creates or updates the job schedules (inbox poll, daily review per brand, drafts)."""
    if not settings.schedules_enabled:
        return {}
    from sqlmodel import Session, select

    from models import Brand
    from workflows.schedules import BrandClock, ensure_schedules

    with Session(engine) as session:
        brands = [
            BrandClock(b.slug, b.timezone)
            for b in session.exec(select(Brand).where(Brand.is_active == True)).all()  # noqa: E712
        ]
    return await ensure_schedules(client, settings, brands)
