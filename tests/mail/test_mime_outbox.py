from __future__ import annotations

import dataclasses
import email as stdlib_email
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest

from dealpilot.mail import OutgoingEmail, PermanentMailError, build_provider
from dealpilot.mail.mime import build_message, message_bytes


def parse(raw: bytes) -> EmailMessage:
    msg = stdlib_email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def assert_full_message(raw: bytes, sent: OutgoingEmail) -> None:
    """What every raw-MIME provider must deliver; shared by the outbox and smtp tests."""
    assert all(b < 128 for b in raw), "message must be 7-bit clean"
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n", 1)[0], "non-ASCII headers RFC 2047 encoded"
    msg = parse(raw)
    assert msg["From"].addresses[0].display_name == sent.from_name
    assert msg["From"].addresses[0].addr_spec == sent.from_email
    assert msg["To"].addresses[0].display_name == sent.to_name
    assert msg["To"].addresses[0].addr_spec == sent.to_email
    assert msg["Subject"] == sent.subject
    assert msg["Message-ID"] == sent.message_id
    assert msg["Reply-To"].addresses[0].addr_spec == sent.reply_to
    assert msg["MIME-Version"] == "1.0"
    assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
    for name, value in sent.headers.items():
        assert msg[name] == value
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    # Bodies travel in canonical CRLF form.
    assert parts[0].get_content().replace("\r\n", "\n") == sent.text
    assert parts[1].get_content().replace("\r\n", "\n").rstrip("\n") == sent.html


def test_mime_message_has_every_header_and_both_parts(email: OutgoingEmail) -> None:
    raw = message_bytes(build_message(email, provider="smtp"))
    assert b"\n" not in raw.replace(b"\r\n", b""), "CRLF line ends only"
    assert_full_message(raw, email)


def test_mime_omits_reply_to_when_absent(email: OutgoingEmail) -> None:
    msg = build_message(dataclasses.replace(email, reply_to=None), provider="smtp")
    assert "Reply-To" not in msg


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"headers": {"X-Evil": "a\r\nBcc: victim@example.com"}}, "invalid_header"),
        ({"headers": {"Subject": "second subject"}}, "invalid_header"),
        ({"headers": {"Bad Name": "x"}}, "invalid_header"),
        ({"subject": "hi\nBcc: victim@example.com"}, "invalid_header"),
        ({"message_id": "no-brackets@codeteki.au"}, "invalid_message_id"),
        ({"to_email": "not an address"}, "invalid_address"),
    ],
)
def test_mime_refuses_bad_input(email: OutgoingEmail, change: dict[str, object], code: str) -> None:
    with pytest.raises(PermanentMailError) as info:
        build_message(dataclasses.replace(email, **change), provider="smtp")  # type: ignore[arg-type]
    assert info.value.code == code


async def test_outbox_writes_a_parseable_eml_atomically(make_settings, email) -> None:
    settings = make_settings()
    provider = build_provider("outbox", settings)
    assert provider.supports_custom_headers
    result = await provider.send(email)
    await provider.aclose()

    assert result.provider == "outbox"
    assert result.message_id == email.message_id
    files = list(settings.outbox_dir.iterdir())
    assert len(files) == 1, "no temp files are left behind"
    (path,) = files
    assert path.suffix == ".eml"
    assert path.name.endswith("-dp.12.2.abcd_codeteki.au.eml")
    assert path.name[:8].isdigit()
    assert_full_message(path.read_bytes(), email)


async def test_outbox_keeps_every_send(make_settings, email) -> None:
    settings = make_settings()
    provider = build_provider("outbox", settings)
    await provider.send(email)
    await provider.send(dataclasses.replace(email, message_id="<dp.12.3.ef01@codeteki.au>"))
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 2


def test_factory_refuses_unconfigured_and_unknown_providers(make_settings) -> None:
    settings = make_settings()
    with pytest.raises(PermanentMailError) as info:
        build_provider("zoho", settings)
    assert info.value.code == "not_configured"
    assert "ZOHO_REFRESH_TOKEN" in str(info.value)
    with pytest.raises(PermanentMailError) as info:
        build_provider("zeptomail", settings)
    assert info.value.code == "not_configured"
    with pytest.raises(PermanentMailError) as info:
        build_provider("carrier-pigeon", settings)
    assert info.value.code == "unknown_provider"
