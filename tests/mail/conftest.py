from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from dealpilot.core.settings import Settings
from dealpilot.mail import OutgoingEmail

SECRET_VALUES = (
    "zoho-client-secret-XYZ",
    "zoho-refresh-token-XYZ",
    "zepto-token-XYZ",
    "smtp-pw-XYZ",
)


@pytest.fixture
def email() -> OutgoingEmail:
    return OutgoingEmail(
        from_email="hello@codeteki.au",
        from_name="Zoë Müller",
        to_email="rebecca@example.com",
        to_name="Rebecca Lee",
        subject="Grüße — a quick backlink question",
        html='<p>Hi Rebecca,</p><p>Quick question… <a href="https://codeteki.au/t/c/x">here</a></p>',
        text="Hi Rebecca,\n\nQuick question… https://codeteki.au/t/c/x\n",
        message_id="<dp.12.2.abcd@codeteki.au>",
        reply_to="replies@codeteki.au",
        headers={
            "List-Unsubscribe": "<https://codeteki.au/u/tok123>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Dealpilot-Deal": "12",
        },
        client_reference="deal-12:step-2",
    )


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**env: Any) -> Settings:
        values: dict[str, Any] = {"DEALPILOT_ENV": "test", "DEALPILOT_DATA_DIR": str(tmp_path)}
        values.update(env)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    # Short timeouts so "slow server" tests stay fast.
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.5, connect=2.0)) as client:
        yield client
