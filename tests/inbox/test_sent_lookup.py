"""Looking a Message-ID up in a real dovecot Sent folder: found, not found, cannot tell."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from dealpilot.core.settings import Settings
from dealpilot.inbox import SentAnswer, SentQuery, Verdict, build_sent_lookup
from tests.inbox.dovecot import Mailbox
from tests.mail.servers import free_port

pytestmark = pytest.mark.timeout(60)


def sent_copy(message_id: str) -> bytes:
    return (
        "From: Codeteki <hello@codeteki.au>\n"
        "To: Sam Lee <sam@leeplumbing.com.au>\n"
        "Subject: Quick question\n"
        f"Message-ID: {message_id}\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "Hi Sam\n"
    ).encode()


def lookup_settings(box: Mailbox, **changes: object) -> Settings:
    values: dict[str, object] = {
        "imap_host": box.host,
        "imap_port": box.port,
        "imap_username": box.username,
        "imap_password": SecretStr(box.password),
        "imap_security": "none",
    }
    values.update(changes)
    return Settings().model_copy(update=values)


async def test_a_message_in_sent_is_found_and_another_is_not(mailbox: Mailbox) -> None:
    mailbox.create("Sent")
    mailbox.append(sent_copy("<dp.7.0.a1b2c3@codeteki.au>"), folder="Sent")
    # The same id in the inbox (a reply quoting it, say) is not a sent copy.
    mailbox.append(sent_copy("<dp.8.0.d4e5f6@codeteki.au>"), folder="INBOX")
    lookup = build_sent_lookup(lookup_settings(mailbox))

    found = await lookup.was_sent(SentQuery("<dp.7.0.a1b2c3@codeteki.au>"))
    missing = await lookup.was_sent(SentQuery("<dp.8.0.d4e5f6@codeteki.au>"))

    assert found.verdict == Verdict.found
    assert "'Sent'" in found.where
    assert missing.verdict == Verdict.not_found


async def test_a_mailbox_that_cannot_be_read_cannot_tell(mailbox: Mailbox) -> None:
    no_folder = build_sent_lookup(lookup_settings(mailbox, imap_sent_folder="Nowhere"))
    wrong_password = build_sent_lookup(
        lookup_settings(mailbox, imap_password=SecretStr("not-the-password"))
    )
    closed_port = build_sent_lookup(lookup_settings(mailbox, imap_port=free_port()))

    for lookup in (no_folder, wrong_password, closed_port):
        answer = await lookup.was_sent(SentQuery("<dp.7.0.a1b2c3@codeteki.au>"))
        assert answer.verdict == Verdict.cannot_tell, lookup


async def test_without_a_mailbox_it_cannot_tell() -> None:
    lookup = build_sent_lookup(Settings().model_copy(update={"imap_host": None}))

    answer = await lookup.was_sent(SentQuery("<x@y>"))
    assert answer == SentAnswer(Verdict.cannot_tell, "no Sent folder configured")
