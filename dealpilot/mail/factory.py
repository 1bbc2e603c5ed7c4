"""Build the configured provider from Settings (credentials only ever come from there)."""

from __future__ import annotations

import httpx

from dealpilot.core.settings import Settings
from dealpilot.mail.base import MailProvider, PermanentMailError
from dealpilot.mail.outbox import OutboxProvider
from dealpilot.mail.smtp import SmtpProvider
from dealpilot.mail.zeptomail import ZeptoMailProvider
from dealpilot.mail.zoho import ZohoProvider


def _not_configured(provider: str, **values: object) -> PermanentMailError:
    missing = sorted(name for name, value in values.items() if not value)
    return PermanentMailError(
        f"{provider} is not configured: set {', '.join(missing)}",
        code="not_configured",
        provider=provider,
    )


def zoho_smtp_host(settings: Settings) -> str:
    """Zoho's SMTP server for mailboxes on a domain, in the account's data centre."""
    return settings.zoho_smtp_host or f"smtppro.zoho.{settings.zoho_data_centre}"


def build_provider(
    name: str, settings: Settings, *, http_client: httpx.AsyncClient | None = None
) -> MailProvider:
    """`http_client` is used by the REST providers and stays owned by the caller."""
    if name == "outbox":
        return OutboxProvider(settings.outbox_dir)
    if name == "smtp":
        return SmtpProvider(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    if name == "zoho_smtp":
        username, password = settings.zoho_smtp_username, settings.zoho_smtp_password
        if not username or password is None:
            raise _not_configured(name, ZOHO_SMTP_USERNAME=username, ZOHO_SMTP_PASSWORD=password)
        return SmtpProvider(
            host=zoho_smtp_host(settings),
            port=settings.zoho_smtp_port,
            security=settings.zoho_smtp_security,
            username=username,
            password=password,
            name=name,
        )
    if name == "zoho":
        client_id, secret = settings.zoho_client_id, settings.zoho_client_secret
        refresh, account = settings.zoho_refresh_token, settings.zoho_account_id
        if not client_id or secret is None or refresh is None or not account:
            raise _not_configured(
                name,
                ZOHO_CLIENT_ID=client_id,
                ZOHO_CLIENT_SECRET=secret,
                ZOHO_REFRESH_TOKEN=refresh,
                ZOHO_ACCOUNT_ID=account,
            )
        return ZohoProvider(
            client_id=client_id,
            client_secret=secret,
            refresh_token=refresh,
            account_id=account,
            data_centre=settings.zoho_data_centre,
            accounts_url=settings.zoho_accounts_url,
            mail_url=settings.zoho_mail_url,
            http_client=http_client,
        )
    if name == "zeptomail":
        token = settings.zeptomail_token
        if token is None:
            raise _not_configured(name, ZEPTOMAIL_TOKEN=token)
        return ZeptoMailProvider(
            token=token,
            region=settings.zeptomail_region,
            url=settings.zeptomail_url,
            http_client=http_client,
        )
    raise PermanentMailError(
        f"unknown mail provider {name!r}", code="unknown_provider", provider=name
    )
