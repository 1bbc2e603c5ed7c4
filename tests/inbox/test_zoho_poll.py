"""The Zoho Mail API inbox against a local server speaking its list/content/header formats:
a reply is recorded against our sent mail once, with the token from the provider's cache."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from dealpilot.inbox import InboxPoller, build_sources
from dealpilot.setup.seed import seed
from models import Brand, EmailEvent, EmailLog, EmailStatus, session_scope, utcnow
from models.uow import UnitsOfWork
from tests.inbox.fake_zoho_mail import FakeZohoMail, ZohoMessage, zoho_provider, zoho_settings
from tests.mail.servers import serve_asgi

SENT_ID = "<dp.7.1.abc123@codeteki.au>"


def _sent_log(engine: Engine) -> int:
    with session_scope(engine) as s:
        seed(s)
        brand = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        row = EmailLog(
            idempotency_key="deal-x:step-1",
            brand_id=brand.id or 0,
            to_email="priya@example.com.au",
            subject="Backlinks for your site",
            status=EmailStatus.sent,
            message_id=SENT_ID,
            sent_at=utcnow(),
        )
        s.add(row)
        s.flush()
        return row.id or 0


def _message(zoho_id: str, ms: int, *, sender: str, msg_id: str, extra: str = "") -> ZohoMessage:
    headers = (
        f"From: Priya <{sender}>\r\nTo: hello@codeteki.au\r\nSubject: Re: Backlinks\r\n"
        f"Message-ID: {msg_id}\r\n{extra}"
    )
    html = (
        "<div>Yes please, send the details.</div>"
        "<div>On Mon, 2 Mar 2026, Codeteki wrote:</div><blockquote>Hi Priya</blockquote>"
    )
    return ZohoMessage(zoho_id, ms, sender, "Re: Backlinks", headers, html)


async def test_zoho_inbox_records_a_reply_once(engine: Engine, tmp_path: object) -> None:
    log_id = _sent_log(engine)
    fake = FakeZohoMail()
    now_ms = int(utcnow().timestamp() * 1000)
    fake.messages = [
        _message(
            "1711",
            now_ms - 60_000,
            sender="priya@example.com.au",
            msg_id="<CAF-1@mail.example.com.au>",
            extra=f"In-Reply-To: {SENT_ID}\r\nReferences: {SENT_ID}\r\n",
        ),
        _message("1712", now_ms - 30_000, sender="hello@codeteki.au", msg_id=SENT_ID),
    ]
    with serve_asgi(fake.app()) as url:
        settings = zoho_settings(fake, url, ZOHO_INBOX_FOLDER_ID=fake.folder_id)
        async with httpx.AsyncClient() as http:
            provider = zoho_provider(fake, url, http)
            sources = build_sources(settings, zoho=lambda _brand: provider, http_client=http)
            poller = InboxPoller(UnitsOfWork(engine), sources)
            first = await poller.poll()
            second = await poller.poll()

    assert (first.handled, first.replies, first.skipped_own) == (2, 1, 1)
    assert (second.handled, second.replies) == (0, 0)
    assert fake.token_requests == 1  # one cached token for all the calls
    with Session(engine) as s:
        (event,) = s.exec(select(EmailEvent)).all()
    assert event.email_log_id == log_id
    assert event.email == "priya@example.com.au"
    assert event.payload["text"] == "Yes please, send the details."
    assert event.payload["raw"]["via"] == "zoho"
