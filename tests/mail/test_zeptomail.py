from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from starlette.responses import JSONResponse, Response
from structlog.testing import capture_logs

from dealpilot.mail import (
    MailError,
    OutcomeUnknownMailError,
    PermanentMailError,
    TransientMailError,
    build_provider,
)
from tests.mail.conftest import SECRET_VALUES
from tests.mail.fake_zeptomail import FakeZeptoMail
from tests.mail.servers import free_port, json_error, serve_asgi

TOKEN = "zepto-token-XYZ"


@pytest.fixture
def zepto() -> Iterator[tuple[FakeZeptoMail, str]]:
    fake = FakeZeptoMail(token=TOKEN)
    with serve_asgi(fake.app()) as url:
        yield fake, url


def zepto_provider(make_settings, http_client, url: str, token: str = TOKEN):
    settings = make_settings(ZEPTOMAIL_TOKEN=token, ZEPTOMAIL_REGION="com.au", ZEPTOMAIL_URL=url)
    return build_provider("zeptomail", settings, http_client=http_client)


@pytest.fixture
def provider(zepto, make_settings, http_client):
    return zepto_provider(make_settings, http_client, zepto[1])


async def test_sends_exactly_the_documented_request(zepto, provider, email):
    fake, _ = zepto
    result = await provider.send(email)

    assert provider.supports_custom_headers
    assert result.provider == "zeptomail"
    assert result.provider_request_id == "2d6f.1"
    assert result.message_id is None  # ZeptoMail assigns its own; we correlate by request_id
    (sent,) = fake.requests
    assert sent["headers"]["authorization"] == f"Zoho-enczapikey {TOKEN}"
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["json"] == {
        "from": {"address": email.from_email, "name": email.from_name},
        "to": [{"email_address": {"address": email.to_email, "name": email.to_name}}],
        "reply_to": [{"address": email.reply_to}],
        "subject": email.subject,
        "htmlbody": email.html,
        "textbody": email.text,
        "track_opens": False,
        "track_clicks": False,
        "client_reference": "deal-12:step-2",
        "mime_headers": {
            "List-Unsubscribe": "<https://codeteki.au/u/tok123>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Dealpilot-Deal": "12",
        },
    }


async def test_optional_fields_are_left_out(zepto, provider, email):
    fake, _ = zepto
    bare = dataclasses.replace(email, to_name="", reply_to=None, headers={}, client_reference=None)
    await provider.send(bare)
    body = fake.requests[0]["json"]
    assert body["to"] == [{"email_address": {"address": email.to_email}}]
    assert not {"reply_to", "mime_headers", "client_reference"} & set(body)


async def test_header_injection_is_refused_before_sending(zepto, provider, email):
    fake, _ = zepto
    with pytest.raises(PermanentMailError) as info:
        await provider.send(dataclasses.replace(email, headers={"X-A": "b\r\nBcc: x@example.com"}))
    assert info.value.code == "invalid_header"
    assert fake.requests == []


async def test_bad_token_is_permanent_and_hidden(zepto, make_settings, http_client, email):
    provider = zepto_provider(make_settings, http_client, zepto[1], token="wrong-token-XYZ")
    with capture_logs() as logs, pytest.raises(PermanentMailError) as info:
        await provider.send(email)
    assert (info.value.code, info.value.sub_code) == ("TM_4001", "SERR_157")
    text = " ".join([repr(provider), repr(info.value), str(info.value), repr(logs)])
    for secret in (*SECRET_VALUES, "wrong-token-XYZ"):
        assert secret not in text


def err(status: int, code: str, sub_code: str) -> Response:
    return JSONResponse(json_error(code, sub_code), status_code=status)


@pytest.mark.parametrize(
    ("response", "error_class", "code"),
    [
        (err(400, "TM_3201", "GE_102"), PermanentMailError, "TM_3201"),  # missing field
        (err(400, "TM_3301", "SM_101"), PermanentMailError, "TM_3301"),  # bad JSON
        (err(401, "TM_4001", "SM_111"), PermanentMailError, "TM_4001"),  # unverified sender domain
        (err(400, "TM_4001", "SM_113"), PermanentMailError, "TM_4001"),  # invalid recipient
        (err(403, "TM_3501", "LE_101"), PermanentMailError, "TM_3501"),  # credits expired
        (err(403, "TM_5001", "LE_102"), PermanentMailError, "TM_5001"),  # credits exhausted
        (err(403, "TM_3601", "SMI_115"), TransientMailError, "TM_3601"),  # per-day limit
        (err(403, "TM_3601", "SM_133"), PermanentMailError, "TM_3601"),  # trial limit: review
        (err(403, "TM_3601", "AE_101"), PermanentMailError, "TM_3601"),  # account blocked
        (err(403, "TM_3601", "SERR_156"), PermanentMailError, "TM_3601"),  # IP not allowed
        (Response("busy", status_code=429), TransientMailError, "http_429"),
        (Response("oops", status_code=500), TransientMailError, "http_500"),
        (Response("down", status_code=503), TransientMailError, "http_503"),
        (Response("gateway", status_code=504), OutcomeUnknownMailError, "http_504"),
    ],
)
async def test_documented_errors_map_to_the_right_class(
    zepto, provider, email, response, error_class, code
):
    fake, _ = zepto
    fake.next_response.append(response)
    with pytest.raises(MailError) as info:
        await provider.send(email)
    assert type(info.value) is error_class
    assert info.value.code == code
    assert info.value.status == response.status_code


async def test_error_mapping_ignores_message_text(zepto, provider, email):
    fake, _ = zepto
    body = json_error("TM_3601", "SMI_115")
    body["error"]["message"] = "Account blocked"  # the code decides, never the text
    fake.next_response.append(JSONResponse(body, status_code=403))
    with pytest.raises(TransientMailError):
        await provider.send(email)


async def test_slow_server_is_outcome_unknown(zepto, provider, email):
    fake, _ = zepto
    fake.delay = 1.0  # past the client's 0.5 s read timeout
    with pytest.raises(OutcomeUnknownMailError) as info:
        await provider.send(email)
    assert info.value.code == "timeout"


async def test_unreachable_server_is_transient(make_settings, http_client, email):
    provider = zepto_provider(make_settings, http_client, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientMailError) as info:
        await provider.send(email)
    assert not isinstance(info.value, OutcomeUnknownMailError)


async def test_default_url_follows_the_region(make_settings):
    settings = make_settings(ZEPTOMAIL_TOKEN=TOKEN, ZEPTOMAIL_REGION="eu")
    provider = build_provider("zeptomail", settings)
    assert provider.url == "https://api.zeptomail.eu/v1.1/email"  # type: ignore[attr-defined]
    await provider.aclose()
