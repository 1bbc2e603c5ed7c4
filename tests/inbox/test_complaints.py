"""Spam complaints from feedback loops (ARF, RFC 5965) found by the inbox poll (issue 11,
item 4): the report names our original by its Message-ID, the deal closes as lost and the
address is suppressed for the brand. Before, a report was read as an automated message (or a
reply) and the complaint was never recognised."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from models import EmailEvent, EmailEventType, Suppression, SuppressionReason
from tests.inbox.dovecot import Mailbox
from tests.inbox.test_imap_poll import CONTACT, first_email, poll
from tests.workflows.conftest import Stack

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(120)]


def arf(*, reporter: str, to: str, original_id: str, feedback_type: str = "abuse") -> bytes:
    return (
        f"From: Feedback Loop <{reporter}>\n"
        f"To: {to}\n"
        "Subject: complaint about message from 203.0.113.5\n"
        "Message-ID: <arf-1@fbl.mailprovider.example>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="B"\n'
        "\n--B\nContent-Type: text/plain\n\nThis is an email abuse report.\n"
        "--B\nContent-Type: message/feedback-report\n\n"
        f"Feedback-Type: {feedback_type}\nUser-Agent: FBL/1.0\nVersion: 1\n"
        f"Original-Mail-From: <{to}>\nOriginal-Rcpt-To: <{CONTACT}>\n"
        "--B\nContent-Type: message/rfc822\n\n"
        f"From: <{to}>\nTo: <{CONTACT}>\nSubject: Quick idea\nMessage-ID: {original_id}\n\n"
        "Hi Sam\n"
        "--B--\n"
    ).encode()


async def test_a_feedback_loop_report_is_a_complaint(stack: Stack, mailbox: Mailbox) -> None:
    deal_id, handle, sent = await first_email(stack)
    brand = stack.brand("codeteki")
    assert sent.message_id is not None
    mailbox.append(
        arf(reporter="fbl@mailprovider.example", to=brand.from_email, original_id=sent.message_id)
    )
    report = await poll(stack, mailbox)
    assert (report.complaints, report.replies, report.skipped_automated) == (1, 0, 0)
    result = await handle.result()
    assert (result.status, result.lost_reason) == ("lost", "spam complaint")
    with Session(stack.engine) as s:
        event = s.exec(select(EmailEvent)).one()
        suppressed = s.exec(select(Suppression).where(Suppression.email == CONTACT)).one()
    assert (event.event_type, event.deal_id, event.email) == (
        EmailEventType.complaint,
        deal_id,
        CONTACT,
    )
    assert (suppressed.brand_id, suppressed.reason) == (brand.id, SuppressionReason.complaint)
