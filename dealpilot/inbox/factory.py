"""The mailboxes to poll, from settings: IMAP when IMAP_HOST is set, the Zoho Mail API when
ZOHO_INBOX_FOLDER_ID is set; the deployment's, and each brand's own (BRAND_<SLUG>_IMAP_HOST,
..., see dealpilot.core.brand_settings), each mailbox once."""

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


def mail_accounts(settings: Settings) -> list[tuple[str, Settings]]:
    """("", the deployment's settings), then (slug, the brand's) for each brand with its own."""
    return [("", settings), *((slug, settings.for_brand(slug)) for slug in settings.mail_brands)]


def build_sources(
    settings: Settings,
    *,
    zoho: Callable[[str], ZohoProvider] | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> list[InboxSource]:
    """`zoho(brand)` hands out the brand's zoho mail provider, whose token cache the inbox
    shares ("" for the deployment's)."""
    sources: dict[str, InboxSource] = {}
    for brand, account in mail_accounts(settings):
        for source in _sources(account, brand, zoho=zoho, http_client=http_client):
            sources.setdefault(source.key, source)
    return list(sources.values())


def _sources(
    settings: Settings,
    brand: str,
    *,
    zoho: Callable[[str], ZohoProvider] | None,
    http_client: httpx.AsyncClient | None,
) -> list[InboxSource]:
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
                token=_token_of(zoho, brand),
                http_client=http_client,
            )
        )
    return sources


def zoho_mail_url(settings: Settings) -> str:
    return settings.zoho_mail_url or f"https://mail.zoho.{settings.zoho_data_centre}"


def _token_of(zoho: Callable[[str], ZohoProvider], brand: str) -> TokenSource:
    async def token(stale: SecretStr | None) -> SecretStr:
        return await zoho(brand).access_token(stale=stale)

    return token


def zoho_accounts(
    settings: Settings,
    zoho: Callable[[str], ZohoProvider],
    *,
    http_client: httpx.AsyncClient | None = None,
) -> list[ZohoMailAccount]:
    """The Zoho Mail account of each configured zoho provider (the deployment's and each
    brand's own, each account once; its token cache shared with the sender)."""
    accounts: dict[str, ZohoMailAccount] = {}
    for brand, account in mail_accounts(settings):
        if not account.zoho_account_id or not account.zoho_client_id:
            continue
        api = ZohoMailAccount(
            mail_url=zoho_mail_url(account),
            account_id=account.zoho_account_id,
            token=_token_of(zoho, brand),
            http_client=http_client,
        )
        accounts.setdefault(api.account_url, api)
    return list(accounts.values())
