"""A Zoho REST send of unknown outcome is looked for with Zoho Mail's search (its Message-ID is
Zoho's own, so never in IMAP by ours), against a local server speaking Zoho's formats: found
only for the same recipient and subject stamped after the claim; cannot tell when Zoho fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from dealpilot.core.settings import Settings
from dealpilot.inbox import (
    SentAnswer,
    SentLookup,
    SentQuery,
    Verdict,
    build_sent_lookup,
    zoho_accounts,
)
from tests.inbox.fake_zoho_mail import FakeZohoMail, ZohoMessage, zoho_provider, zoho_settings
from tests.mail.servers import serve_asgi

pytestmark = pytest.mark.timeout(60)
CLAIMED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
TO, SUBJECT = "sam@leeplumbing.com.au", "A faster booking page for Lee Plumbing"
SEARCH = "Zoho Mail search"


def _copy(zoho_id: str, at: datetime, *, subject: str = SUBJECT, to: str = TO) -> ZohoMessage:
    ms = int(at.timestamp() * 1000)
    return ZohoMessage(zoho_id, ms, "hello@codeteki.au", subject, "", "<p>Hi Sam</p>", to)


def _query(**changes: object) -> SentQuery:
    values: dict[str, object] = {
        "message_id": "<dp.7.1.a1b2@codeteki.au>",
        "to_email": TO,
        "subject": SUBJECT,
        "claimed_at": CLAIMED,
        "provider": "zoho",
    }
    values.update(changes)
    return SentQuery(**values)  # type: ignore[arg-type]


@pytest.fixture
def fake() -> FakeZohoMail:
    return FakeZohoMail()


@pytest.fixture
async def lookup(fake: FakeZohoMail) -> AsyncIterator[SentLookup]:
    with serve_asgi(fake.app()) as url:
        settings = zoho_settings(fake, url)
        async with httpx.AsyncClient() as http:
            provider = zoho_provider(fake, url, http)
            accounts = zoho_accounts(settings, lambda _brand: provider, http_client=http)
            yield build_sent_lookup(settings, accounts)


async def test_the_same_email_after_the_claim_is_found(
    fake: FakeZohoMail, lookup: SentLookup
) -> None:
    fake.messages = [_copy("1801", CLAIMED + timedelta(seconds=2))]

    answer = await lookup.was_sent(_query())

    assert answer == SentAnswer(Verdict.found, SEARCH)
    assert fake.calls == [f'search:to:{TO}::subject:"{SUBJECT}"']


async def test_an_older_copy_or_another_subject_is_not_the_send(
    fake: FakeZohoMail, lookup: SentLookup
) -> None:
    fake.messages = [
        _copy("1790", CLAIMED - timedelta(days=3)),  # the same email, sent days before
        _copy("1802", CLAIMED + timedelta(seconds=2), subject="Re: " + SUBJECT),
        _copy("1803", CLAIMED + timedelta(seconds=2), to="someone@else.com.au"),
    ]

    assert await lookup.was_sent(_query()) == SentAnswer(Verdict.not_found, SEARCH)


async def test_zoho_failing_cannot_tell(fake: FakeZohoMail, lookup: SentLookup) -> None:
    fake.failing = True

    answer = await lookup.was_sent(_query())

    assert answer.verdict == Verdict.cannot_tell
    assert answer.where.startswith("Zoho Mail search unavailable (Zoho Mail answered HTTP 500")


async def test_without_the_zoho_provider_a_zoho_send_is_never_looked_up_by_message_id() -> None:
    """IMAP holds Zoho's Message-ID for a REST send, not ours: "not found" there would be
    wrong and send it twice, so without Zoho's search the answer is "cannot tell"."""
    settings = Settings(_env_file=None, DEALPILOT_ENV="test").model_copy(
        update={"imap_host": "127.0.0.1", "imap_username": "u", "imap_password": SecretStr("p")}
    )
    lookup = build_sent_lookup(settings)

    answer = await lookup.was_sent(_query())

    assert answer.verdict == Verdict.cannot_tell
    assert "Zoho sets its own Message-ID" in answer.where
