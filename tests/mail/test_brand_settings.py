"""Per-brand mail settings (BRAND_<SLUG>_*) and the Zoho SMTP provider's defaults (issue 11,
items 2 and 3): what an operator writes in the environment or .env, and what it builds."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dealpilot.core.settings import Settings
from dealpilot.inbox import build_sent_lookup, build_sources
from dealpilot.inbox.sent import AnySentFolder
from dealpilot.mail import PermanentMailError, build_provider
from dealpilot.mail.smtp import SmtpProvider

TEST = {"DEALPILOT_ENV": "test"}


def test_a_brands_setting_overrides_the_deployments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "ZOHO_SMTP_USERNAME=shared@codeteki.au\n"
        "BRAND_CODETEKI_ZOHO_SMTP_USERNAME=outreach@codeteki.au\n"
        "BRAND_CODETEKI_ZOHO_SMTP_PASSWORD=from-dotenv\n"
        "BRAND_DESIFIRMS_ZEPTOMAIL_TOKEN=\n"  # empty: unset, as for every setting
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BRAND_CODETEKI_ZOHO_SMTP_PASSWORD", "from-environment")
    monkeypatch.setenv("BRAND_DESIFIRMS_IMAP_HOST", "imap.desifirms.example")
    settings = Settings(**TEST)
    assert settings.mail_brands == ["codeteki", "desifirms"]
    codeteki = settings.for_brand("codeteki")
    assert codeteki.zoho_smtp_username == "outreach@codeteki.au"
    assert codeteki.zoho_smtp_password is not None
    assert codeteki.zoho_smtp_password.get_secret_value() == "from-environment"
    assert codeteki.imap_host is None
    desi = settings.for_brand("desifirms")
    assert (desi.imap_host, desi.zoho_smtp_username) == (
        "imap.desifirms.example",
        "shared@codeteki.au",
    )
    assert desi.zeptomail_token is None
    assert settings.for_brand("other") is settings
    assert "from-environment" not in repr(settings)  # secrets stay secret


def test_a_mistyped_brand_setting_stops_the_start() -> None:
    with pytest.raises(ValidationError, match="BRAND_CODETEKI_SMTP_HOSTNAME names no"):
        Settings(**TEST, BRAND_CODETEKI_SMTP_HOSTNAME="x")
    with pytest.raises(ValidationError, match="BRAND_CODETEKI_SMTP_PORT"):
        Settings(**TEST, BRAND_CODETEKI_SMTP_PORT="not-a-port")


def test_zoho_smtp_defaults_to_zohos_server_in_the_data_centre() -> None:
    settings = Settings(
        **TEST,
        ZOHO_DATA_CENTRE="com.au",
        ZOHO_SMTP_USERNAME="outreach@codeteki.au",
        ZOHO_SMTP_PASSWORD="app-password",
    )
    provider = build_provider("zoho_smtp", settings)
    assert isinstance(provider, SmtpProvider)
    assert (provider.name, provider.host, provider.port, provider.security) == (
        "zoho_smtp",
        "smtppro.zoho.com.au",
        465,
        "ssl",
    )
    assert provider.supports_custom_headers  # List-Unsubscribe, Reply-To, From name
    with pytest.raises(PermanentMailError, match="ZOHO_SMTP_PASSWORD, ZOHO_SMTP_USERNAME"):
        build_provider("zoho_smtp", Settings(**TEST))


def test_each_brands_inbox_is_polled_once() -> None:
    shared = {
        "IMAP_HOST": "imap.zoho.com.au",
        "IMAP_USERNAME": "a@codeteki.au",
        "IMAP_PASSWORD": "p",
    }
    settings = Settings(
        **TEST,
        **shared,
        BRAND_CODETEKI_IMAP_USERNAME="a@codeteki.au",  # the same mailbox as the deployment's
        BRAND_DESIFIRMS_IMAP_HOST="imap.desifirms.example",
        BRAND_DESIFIRMS_IMAP_USERNAME="hello@desifirms.com.au",
        BRAND_DESIFIRMS_IMAP_PASSWORD="q",
    )
    keys = [source.key for source in build_sources(settings)]
    assert keys == [
        "imap:a@codeteki.au@imap.zoho.com.au:993/INBOX",
        "imap:hello@desifirms.com.au@imap.desifirms.example:993/INBOX",
    ]
    assert isinstance(build_sent_lookup(settings).default, AnySentFolder)  # both Sent folders
