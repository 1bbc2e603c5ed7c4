"""The mailboxes to poll, from settings: IMAP when IMAP_HOST is set, the Zoho Mail API when
ZOHO_INBOX_FOLDER_ID is set."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from pydantic import SecretStr

from dealpilot.core.settings import Settings
from dealpilot.inbox.imap import ImapInbox
from dealpilot.inbox.source import InboxSource
from dealpilot.inbox.zoho import TokenSource, ZohoInbox, ZohoMailAccount
from dealpilot.mail.zoho import ZohoProvider


def imap_mailbox(settings: Settings, folder: str) -> ImapInbox:
    """The IMAP mailbox the settings name (IMAP_HOST and its credentials), at `folder`."""
    assert settings.imap_host
    assert settings.imap_username
    assert settings.imap_password is not None
    return ImapInbox(
        host=settings.imap_host,
        port=settings.imap_port,
        username=settings.imap_username,
        password=settings.imap_password,
        security=settings.imap_security,
        folder=folder,
    )


def build_sources(
    settings: Settings,
    *,
    zoho: Callable[[], ZohoProvider] | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> list[InboxSource]:
    """`zoho` hands out the zoho mail provider, whose token cache the inbox shares."""
    sources: list[InboxSource] = []
    if settings.imap_host:
        if not settings.imap_username or settings.imap_password is None:
            raise ValueError("IMAP_HOST is set: IMAP_USERNAME and IMAP_PASSWORD are required")
        sources.append(imap_mailbox(settings, settings.imap_folder))
    if settings.zoho_inbox_folder_id:
        if not settings.zoho_account_id or zoho is None:
            raise ValueError("ZOHO_INBOX_FOLDER_ID is set: the zoho provider must be configured")
        sources.append(
            ZohoInbox(
                mail_url=zoho_mail_url(settings),
                account_id=settings.zoho_account_id,
                folder_id=settings.zoho_inbox_folder_id,
                token=_token_of(zoho),
                http_client=http_client,
            )
        )
    return sources


def zoho_mail_url(settings: Settings) -> str:
    return settings.zoho_mail_url or f"https://mail.zoho.{settings.zoho_data_centre}"


def _token_of(zoho: Callable[[], ZohoProvider]) -> TokenSource:
    async def token(stale: SecretStr | None) -> SecretStr:
        return await zoho().access_token(stale=stale)

    return token


def zoho_account(
    settings: Settings,
    zoho: Callable[[], ZohoProvider],
    *,
    http_client: httpx.AsyncClient | None = None,
) -> ZohoMailAccount | None:
    """The Zoho Mail account of the zoho provider (its token cache shared), None when the
    provider is not configured."""
    if not settings.zoho_account_id or not settings.zoho_client_id:
        return None
    return ZohoMailAccount(
        mail_url=zoho_mail_url(settings),
        account_id=settings.zoho_account_id,
        token=_token_of(zoho),
        http_client=http_client,
    )
