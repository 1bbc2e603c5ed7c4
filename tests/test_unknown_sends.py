"""Settling a send of unknown outcome when another attempt got to the row first: what that
attempt decided is reported, never acted on twice; one still sending it again is retried
later (a retryable error), never reported as an outcome the deal cannot read."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from dealpilot.deals.unknown_sends import Unresolved, settle
from dealpilot.inbox.sent import SentAnswer, SentQuery, Verdict
from dealpilot.mail import TransientMailError
from models import EmailStatus
from tests.factories import make_brand, make_contact, make_deal, make_email_log, make_pipeline

MESSAGE_ID = "<dp.1.1.abc@codeteki.au>"


def _row(session: Session, status: EmailStatus) -> Unresolved:
    brand = make_brand(session)
    deal = make_deal(
        session,
        contact=make_contact(session, brand=brand),
        pipeline=make_pipeline(session, brand=brand),
    )
    log = make_email_log(session, deal=deal, status=status)
    log.message_id = MESSAGE_ID
    session.add(log)
    session.commit()
    assert log.id is not None
    return Unresolved(log.id, SentQuery(MESSAGE_ID), "the attempt did not finish within 40s")


def test_a_row_another_attempt_is_resending_is_retried_later(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        pending = _row(session, EmailStatus.pending)
        with pytest.raises(TransientMailError) as retry:
            settle(session, pending, SentAnswer(Verdict.not_found, "IMAP folder 'Sent'"))
    assert retry.value.retryable
    assert retry.value.code == "resend_in_progress"


def test_a_row_another_attempt_sent_is_reported_sent(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        pending = _row(session, EmailStatus.sent)
        outcome = settle(session, pending, SentAnswer(Verdict.not_found, "IMAP folder 'Sent'"))
    assert not isinstance(outcome, Unresolved)
    assert getattr(outcome, "status", None) == "sent"
