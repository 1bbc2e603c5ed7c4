"""Production refuses to start with placeholders (issue 11, item 5): a PUBLIC_BASE_URL that
no recipient can reach (every tracking and unsubscribe link would be dead) and a sending
brand without a real postal address (the seeded ones are city names)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from dealpilot.core.settings import Settings
from dealpilot.setup.database import prepare_database
from dealpilot.setup.readiness import postal_address_problem, require_production_ready
from models import Brand, MailProviderName, session_scope
from tests.db import fresh_database
from tests.e2e.conftest import DEALPILOT, free_port

SECRETS = {
    "DEALPILOT_ENV": "production",
    "TRACKING_SECRET": "a-real-secret-4f9c2",
    "DEALPILOT_API_KEYS": "k-81d",
    "DEALPILOT_SESSION_SECRET": "a-session-secret-77d1",
}
REAL = "Level 2, 100 Collins Street, Melbourne VIC 3000"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
        "http://0.0.0.0:8000",
        "http://10.0.0.5",
        "https://crm.example.com",
        "https://dealpilot.test",
        "crm.codeteki.au",
    ],
)
def test_a_placeholder_public_base_url_is_refused_in_production(url: str) -> None:
    with pytest.raises(ValidationError, match="PUBLIC_BASE_URL"):
        Settings.model_validate(SECRETS | {"PUBLIC_BASE_URL": url})
    # Development and tests run on loopback, as always.
    assert Settings.model_validate(
        SECRETS | {"DEALPILOT_ENV": "development", "PUBLIC_BASE_URL": url}
    )


def test_a_real_public_base_url_is_accepted() -> None:
    settings = Settings.model_validate(SECRETS | {"PUBLIC_BASE_URL": "https://crm.codeteki.au"})
    assert settings.public_base_url == "https://crm.codeteki.au"


def test_postal_addresses() -> None:
    assert postal_address_problem("Melbourne, Australia")
    assert postal_address_problem("Sydney, Australia")
    assert postal_address_problem("")
    assert postal_address_problem("123")
    assert postal_address_problem(REAL) is None
    assert postal_address_problem("PO Box 42, Parramatta NSW 2150") is None


def test_the_worker_refuses_to_start_until_each_sending_brand_has_a_postal_address(
    postgres_admin_url: str, tmp_path: Path
) -> None:
    with fresh_database(postgres_admin_url) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DEALPILOT", "DATABASE"))}
        env |= SECRETS | {
            "DATABASE_URL": url,
            "PUBLIC_BASE_URL": "https://crm.codeteki.au",
            "DEALPILOT_DATA_DIR": str(tmp_path / "data"),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # never reached
        }
        settings = Settings.model_validate(env)
        engine = prepare_database(settings)  # migrated and seeded, as `migrate` + `seed`
        with session_scope(engine) as session:  # Codeteki back on the Zoho REST API
            codeteki = session.exec(select(Brand).where(Brand.slug == "codeteki")).one()
            codeteki.provider = MailProviderName.zoho
            session.add(codeteki)
        proc = subprocess.run(
            [str(DEALPILOT), "worker"], cwd=tmp_path, env=env, capture_output=True, timeout=60
        )
        out = proc.stderr.decode()
        assert proc.returncode == 1, out
        # The REST API's mail lacks List-Unsubscribe and friends: said at every start.
        logged = proc.stdout.decode() + out
        assert "mail.provider_lacks_headers" in logged
        assert "List-Unsubscribe" in logged
        assert "error [not_ready_for_production]" in out
        assert "brands.codeteki.postal_address: 'Melbourne, Australia' is not a postal" in out
        assert "brands.desifirms.postal_address: 'Sydney, Australia' is not a postal" in out

        with session_scope(engine) as session:
            for brand in session.exec(select(Brand)).all():
                if brand.slug == "codeteki":
                    brand.postal_address = REAL
                else:
                    brand.is_active = False  # a brand that sends nothing needs none
                session.add(brand)
        with Session(engine) as session:
            require_production_ready(session)  # no error: the worker would start now
        engine.dispose()
