from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from dealpilot.mail import (
    MailError,
    OutcomeUnknownMailError,
    PermanentMailError,
    TransientMailError,
    build_provider,
)
from tests.mail.conftest import SECRET_VALUES
from tests.mail.fake_zoho import FakeZoho
from tests.mail.servers import free_port, serve_asgi

ACCOUNT = "2560636000000008002"


@pytest.fixture
def zoho() -> Iterator[tuple[FakeZoho, str]]:
    fake = FakeZoho()
    with serve_asgi(fake.app()) as url:
        yield fake, url


@pytest.fixture
def provider(zoho, make_settings, http_client):
    _, url = zoho
    return zoho_provider(make_settings, http_client, accounts=url, mail=url)


def zoho_provider(make_settings, http_client, *, accounts: str, mail: str):
    settings = make_settings(
        ZOHO_CLIENT_ID="1000.CLIENTID",
        ZOHO_CLIENT_SECRET="zoho-client-secret-XYZ",
        ZOHO_REFRESH_TOKEN="zoho-refresh-token-XYZ",
        ZOHO_ACCOUNT_ID=ACCOUNT,
        ZOHO_DATA_CENTRE="com.au",
        ZOHO_ACCOUNTS_URL=accounts,
        ZOHO_MAIL_URL=mail,
    )
    return build_provider("zoho", settings, http_client=http_client)


async def test_sends_exactly_the_documented_request(zoho, provider, email):
    fake, _ = zoho
    result = await provider.send(email)

    assert not provider.supports_custom_headers
    assert result.provider == "zoho"
    assert result.message_id == "<1700000000000.1@zoho.com>"  # Zoho's mailId
    assert result.provider_message_id == "170000000000001"
    (token_request,) = fake.token_requests
    assert token_request["form"] == {
        "grant_type": "refresh_token",
        "client_id": "1000.CLIENTID",
        "client_secret": "zoho-client-secret-XYZ",
        "refresh_token": "zoho-refresh-token-XYZ",
    }
    assert token_request["query"] == {}, "secrets never travel in the URL"
    (sent,) = fake.send_requests
    assert sent["path"] == f"/api/accounts/{ACCOUNT}/messages"
    assert sent["headers"]["authorization"] == "Zoho-oauthtoken 1000.access-1"
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["json"] == {
        "fromAddress": email.from_email,
        "toAddress": email.to_email,
        "subject": email.subject,
        "content": email.html,
        "mailFormat": "html",
        "encoding": "UTF-8",
    }


async def test_token_is_cached_across_sends(zoho, provider, email):
    fake, _ = zoho
    await provider.send(email)
    await provider.send(email)
    assert len(fake.token_requests) == 1
    auth = {r["headers"]["authorization"] for r in fake.send_requests}
    assert auth == {"Zoho-oauthtoken 1000.access-1"}


async def test_concurrent_sends_refresh_once(zoho, provider, email):
    fake, _ = zoho
    fake.token_delay = 0.1
    results = await asyncio.gather(*(provider.send(email) for _ in range(5)))
    assert len(results) == 5
    assert len(fake.token_requests) == 1


async def test_revoked_token_is_refreshed_once_and_retried(zoho, provider, email):
    fake, _ = zoho
    await provider.send(email)
    fake.valid_tokens.clear()  # Zoho revoked the cached token early
    result = await provider.send(email)
    assert result.message_id
    assert len(fake.token_requests) == 2
    assert [r["headers"]["authorization"] for r in fake.send_requests] == [
        "Zoho-oauthtoken 1000.access-1",
        "Zoho-oauthtoken 1000.access-1",
        "Zoho-oauthtoken 1000.access-2",
    ]


async def test_invalid_token_after_refresh_is_permanent(zoho, provider, email):
    fake, _ = zoho
    fake.reject_every_token = True
    with pytest.raises(PermanentMailError) as info:
        await provider.send(email)
    assert info.value.code == "INVALID_OAUTHTOKEN"
    assert len(fake.token_requests) == 2, "one refresh, one retry, then stop"
    assert len(fake.send_requests) == 2


@pytest.mark.parametrize("error", ["invalid_code", "invalid_client"])
async def test_refused_refresh_token_is_permanent(zoho, provider, email, error):
    fake, _ = zoho
    fake.token_error = (200, error)  # Zoho answers these with HTTP 200
    with pytest.raises(PermanentMailError) as info:
        await provider.send(email)
    assert info.value.code == error
    assert fake.send_requests == []


@pytest.mark.parametrize(
    ("token_error", "expected"),
    [((400, "Access Denied"), "token_rate_limited"), ((500, "internal_error"), "internal_error")],
)
async def test_throttled_or_failing_token_endpoint_is_transient(
    zoho, provider, email, token_error, expected
):
    fake, _ = zoho
    fake.token_error = token_error
    with pytest.raises(TransientMailError) as info:
        await provider.send(email)
    assert not isinstance(info.value, OutcomeUnknownMailError)
    assert info.value.code == expected


async def test_bad_address_is_permanent(provider, email):
    with pytest.raises(PermanentMailError) as info:
        await provider.send(dataclasses.replace(email, to_email="not-an-address"))
    assert info.value.status == 400
    assert info.value.code == "INVALID_DATA"


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (429, TransientMailError),
        (500, TransientMailError),
        (503, TransientMailError),
        (504, OutcomeUnknownMailError),
        (404, PermanentMailError),
    ],
)
async def test_http_errors_map_by_status(zoho, provider, email, status, error_class):
    fake, _ = zoho
    fake.next_send.append((status, {"status": {"code": status, "description": "error"}}))
    with pytest.raises(MailError) as info:
        await provider.send(email)
    assert type(info.value) is error_class
    assert info.value.status == status


async def test_slow_send_is_outcome_unknown(zoho, provider, email):
    fake, _ = zoho
    await provider.access_token()
    fake.send_delay = 1.0  # past the client's 0.5 s read timeout
    with pytest.raises(OutcomeUnknownMailError) as info:
        await provider.send(email)
    assert info.value.code == "timeout"


async def test_slow_token_endpoint_is_plain_transient(zoho, provider, email):
    fake, _ = zoho
    fake.token_delay = 1.0  # no mail can have gone out
    with pytest.raises(TransientMailError) as info:
        await provider.send(email)
    assert not isinstance(info.value, OutcomeUnknownMailError)


async def test_unreachable_server_is_transient(make_settings, http_client, email):
    url = f"http://127.0.0.1:{free_port()}"
    provider = zoho_provider(make_settings, http_client, accounts=url, mail=url)
    with pytest.raises(TransientMailError) as info:
        await provider.send(email)
    assert not isinstance(info.value, OutcomeUnknownMailError)
    assert info.value.code == "connection"


async def test_secrets_never_reach_errors_logs_or_reprs(zoho, provider, email):
    fake, _ = zoho
    with capture_logs() as logs:
        await provider.send(email)
        fake.reject_every_token = True
        with pytest.raises(PermanentMailError) as info:
            await provider.send(email)
    text = " ".join([repr(provider), repr(info.value), str(info.value), repr(logs)])
    for secret in (*SECRET_VALUES, "1000.access-1", "1000.access-2"):
        assert secret not in text


def test_unknown_data_centre_is_refused(make_settings):
    settings = make_settings(
        ZOHO_CLIENT_ID="id",
        ZOHO_CLIENT_SECRET="s",
        ZOHO_REFRESH_TOKEN="r",
        ZOHO_ACCOUNT_ID="1",
        ZOHO_DATA_CENTRE="mars",
    )
    with pytest.raises(PermanentMailError) as info:
        build_provider("zoho", settings)
    assert info.value.code == "config"


async def test_default_urls_follow_the_data_centre(make_settings):
    settings = make_settings(
        ZOHO_CLIENT_ID="id",
        ZOHO_CLIENT_SECRET="s",
        ZOHO_REFRESH_TOKEN="r",
        ZOHO_ACCOUNT_ID="42",
        ZOHO_DATA_CENTRE="eu",
    )
    provider = build_provider("zoho", settings)
    assert provider.token_url == "https://accounts.zoho.eu/oauth/v2/token"  # type: ignore[attr-defined]
    assert provider.messages_url == "https://mail.zoho.eu/api/accounts/42/messages"  # type: ignore[attr-defined]
    await provider.aclose()
