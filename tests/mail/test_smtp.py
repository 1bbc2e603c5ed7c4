from __future__ import annotations

import dataclasses
import pickle
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from dealpilot.mail import (
    OutcomeUnknownMailError,
    OutgoingEmail,
    PermanentMailError,
    TransientMailError,
    build_provider,
)
from dealpilot.mail.smtp import SmtpProvider
from tests.mail.servers import SmtpRecorder, free_port, self_signed_cert
from tests.mail.test_mime_outbox import assert_full_message

USER, PASSWORD = "mailer@codeteki.au", "smtp-pw-XYZ"


@pytest.fixture
def recorder() -> SmtpRecorder:
    return SmtpRecorder()


@pytest.fixture
def plain_server(recorder: SmtpRecorder) -> Iterator[int]:
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_server(recorder: SmtpRecorder, tls_files: tuple[Path, Path]) -> Iterator[int]:
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
    )
    controller.start()
    yield port
    controller.stop()


def plain_provider(make_settings, port: int):
    settings = make_settings(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY="none")
    return build_provider("smtp", settings)


def tls_provider(port: int, cert: Path, password: str = PASSWORD) -> SmtpProvider:
    return SmtpProvider(
        host="127.0.0.1",
        port=port,
        security="starttls",
        username=USER,
        password=SecretStr(password),
        timeout=5,
        ssl_context=ssl.create_default_context(cafile=str(cert)),
    )


async def test_plain_smtp_delivers_full_message(make_settings, plain_server, recorder, email):
    provider = plain_provider(make_settings, plain_server)
    result = await provider.send(email)

    assert result.provider == "smtp"
    assert result.message_id == email.message_id
    (mail,) = recorder.received
    assert mail.mail_from == email.from_email
    assert mail.rcpt_tos == [email.to_email]
    assert_full_message(mail.content, email)


async def test_starttls_with_auth_delivers(tls_server, tls_files, recorder, email):
    provider = tls_provider(tls_server, tls_files[0])
    await provider.send(email)
    (mail,) = recorder.received
    assert_full_message(mail.content, email)


async def test_wrong_password_is_permanent_and_hides_the_password(tls_server, tls_files, email):
    provider = tls_provider(tls_server, tls_files[0], password="wrong-pw-XYZ")
    with pytest.raises(PermanentMailError) as info:
        await provider.send(email)
    assert info.value.code == "auth"
    assert info.value.status == 535
    assert "wrong-pw-XYZ" not in repr(info.value)
    assert PASSWORD not in repr(provider)


async def test_untrusted_certificate_is_permanent(tls_server, email):
    provider = SmtpProvider(
        host="127.0.0.1",
        port=tls_server,
        security="starttls",
        username=USER,
        password=SecretStr(PASSWORD),
        timeout=5,
    )  # default trust store: our self-signed certificate is not in it
    with pytest.raises(PermanentMailError) as info:
        await provider.send(email)
    assert info.value.code == "tls_verify"


async def test_refused_recipient_is_permanent(make_settings, plain_server, recorder, email):
    provider = plain_provider(make_settings, plain_server)
    with pytest.raises(PermanentMailError) as info:
        await provider.send(dataclasses.replace(email, to_email="nobody@example.com"))
    assert info.value.code == "recipient_refused"
    assert info.value.status == 550
    assert recorder.received == []


async def test_temporarily_refused_recipient_is_transient(make_settings, plain_server, email):
    provider = plain_provider(make_settings, plain_server)
    with pytest.raises(TransientMailError) as info:
        await provider.send(dataclasses.replace(email, to_email="busy@example.com"))
    assert not isinstance(info.value, OutcomeUnknownMailError)
    assert info.value.status == 450


async def test_rejected_content_is_permanent(make_settings, plain_server, recorder, email):
    recorder.reject_data = True
    provider = plain_provider(make_settings, plain_server)
    with pytest.raises(PermanentMailError) as info:
        await provider.send(email)
    assert info.value.code == "rejected"
    assert info.value.status == 554


async def test_server_down_is_transient(make_settings, email):
    provider = plain_provider(make_settings, free_port())  # nothing listens there
    with pytest.raises(TransientMailError) as info:
        await provider.send(email)
    assert not isinstance(info.value, OutcomeUnknownMailError)
    assert info.value.code == "connection"


async def test_connection_dropped_after_data_is_outcome_unknown(
    make_settings, plain_server, recorder, email
):
    recorder.drop_after_data = True
    provider = plain_provider(make_settings, plain_server)
    with pytest.raises(OutcomeUnknownMailError) as info:
        await provider.send(email)
    assert info.value.code == "after_data"
    # Exactly why it must not be resent: the server did get the whole message.
    assert len(recorder.received) == 1


def test_outgoing_email_is_what_the_tests_send(email: OutgoingEmail) -> None:
    assert any(ord(c) > 127 for c in email.from_name + email.subject)


async def test_implicit_tls_delivers(recorder, tls_files, email):
    cert, key = tls_files
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, ssl_context=server_context)
    controller.start()
    try:
        provider = SmtpProvider(
            host="127.0.0.1",
            port=port,
            security="ssl",
            timeout=5,
            ssl_context=ssl.create_default_context(cafile=str(cert)),
        )
        await provider.send(email)
    finally:
        controller.stop()
    (mail,) = recorder.received
    assert_full_message(mail.content, email)


async def test_silent_server_times_out_as_transient(email):
    with socket.socket() as listener:  # accepts connections (backlog) but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        provider = SmtpProvider(
            host="127.0.0.1", port=listener.getsockname()[1], security="none", timeout=0.3
        )
        with pytest.raises(TransientMailError) as info:
            await provider.send(email)
    assert not isinstance(info.value, OutcomeUnknownMailError)
    assert info.value.code == "timeout"


async def test_timeout_awaiting_the_final_reply_is_outcome_unknown(plain_server, recorder, email):
    recorder.data_delay = 1.0
    provider = SmtpProvider(host="127.0.0.1", port=plain_server, security="none", timeout=0.3)
    with pytest.raises(OutcomeUnknownMailError) as info:
        await provider.send(email)
    assert info.value.code == "after_data"


def test_mail_errors_survive_pickling() -> None:
    error = PermanentMailError("refused", code="TM_4001", provider="zeptomail", status=401)
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is PermanentMailError
    assert (clone.code, clone.provider, clone.status, str(clone)) == (
        "TM_4001",
        "zeptomail",
        401,
        "refused",
    )
