"""`record`: matching, deduplication, flags and suppression, on PostgreSQL (no Temporal)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from dealpilot.intake import Inbound, deliver, record
from models import EmailEvent, EmailEventType, EmailLog, Suppression, session_scope, utcnow
from models.uow import UnitsOfWork
from tests.factories import make_brand, make_contact, make_deal, make_email_log, make_pipeline


def _setup(session: Session, email: str = "lee@example.com"):
    brand = make_brand(session, slug="alpha")
    other = make_brand(session, slug="beta")
    deal = make_deal(
        session,
        contact=make_contact(session, brand=brand, email=email),
        pipeline=make_pipeline(session, brand=brand),
    )
    other_deal = make_deal(
        session,
        contact=make_contact(session, brand=other, email=email),
        pipeline=make_pipeline(session, brand=other),
    )
    log = make_email_log(session, deal=deal)
    log.message_id = "<dp.1.1.abc@alpha.example.com>"
    session.add(log)
    session.commit()
    other_log = make_email_log(session, deal=other_deal)
    return brand, other, deal, other_deal, log, other_log


def _ev(**kw) -> Inbound:
    base = {"source": "webhook", "dedupe_key": "k1", "occurred_at": utcnow()}
    return Inbound(**{**base, **kw})


def test_reply_matched_by_in_reply_to_and_replayed_once(engine: Engine, session: Session) -> None:
    _b, _o, deal, _od, log, _ol = _setup(session)
    inbound = _ev(
        event_type=EmailEventType.reply,
        message_ids=("<DP.1.1.ABC@alpha.example.com>",),
        email="lee@example.com",
        text="Sounds good",
    )
    with session_scope(engine) as s:
        first = record(s, inbound)
    assert first.created
    assert first.deal_ids == [deal.id]
    assert first.events[0].email_log_id == log.id
    with session_scope(engine) as s:
        again = record(s, inbound)
    assert not again.created
    assert [e.id for e in again.events] == [e.id for e in first.events]
    with Session(engine) as s:
        assert len(s.exec(select(EmailEvent)).all()) == 1


def test_address_match_never_crosses_brands(engine: Engine, session: Session) -> None:
    brand, other, _deal, other_deal, _log, other_log = _setup(session)
    with session_scope(engine) as s:
        result = record(
            s, _ev(event_type=EmailEventType.reply, brand_id=other.id, email="LEE@example.com")
        )
    assert result.deal_ids == [other_deal.id]
    assert result.events[0].email_log_id == other_log.id
    with session_scope(engine) as s:
        unknown = record(
            s, _ev(event_type=EmailEventType.reply, dedupe_key="k2", email="lee@example.com")
        )
    # Both brands wrote to this address: without a brand it cannot be told apart.
    assert unknown.deal_ids == []
    assert unknown.events[0].deal_id is None


def test_hard_bounce_suppresses_for_its_brand_only_and_flags_the_log(
    engine: Engine, session: Session
) -> None:
    brand, _other, _deal, _od, log, _ol = _setup(session)
    with session_scope(engine) as s:
        record(s, _ev(event_type=EmailEventType.bounce, email_log_id=log.id, text="550 gone"))
    with Session(engine) as s:
        rows = s.exec(select(Suppression)).all()
        assert [(r.brand_id, r.email, r.reason) for r in rows] == [
            (brand.id, "lee@example.com", "hard_bounce")
        ]
        refreshed = s.get(EmailLog, log.id)
        assert refreshed is not None
        assert refreshed.bounced


def test_bot_open_does_not_flag_the_log_and_fast_click_is_a_scanner(
    engine: Engine, session: Session
) -> None:
    _b, _o, _d, _od, log, _ol = _setup(session)
    with session_scope(engine) as s:
        record(s, _ev(event_type=EmailEventType.open, email_log_id=log.id, is_bot=True))
        click = record(
            s,
            _ev(
                event_type=EmailEventType.click,
                dedupe_key="c1",
                email_log_id=log.id,
                occurred_at=(log.sent_at or utcnow()) + timedelta(seconds=2),
                url="https://example.com",
            ),
        )
    assert click.events[0].is_bot
    with Session(engine) as s:
        refreshed = s.get(EmailLog, log.id)
        assert refreshed is not None
        assert not refreshed.opened
        assert not refreshed.clicked


async def test_unmatched_events_are_kept_and_nothing_is_pending_without_a_deal(
    engine: Engine, session: Session
) -> None:
    _setup(session)
    with session_scope(engine) as s:
        result = record(
            s, _ev(event_type=EmailEventType.reply, email="stranger@example.org", text="hi")
        )
    assert result.created
    assert result.events[0].deal_id is None
    report = await deliver(None, UnitsOfWork(engine))
    assert (report.delivered, report.pending) == (0, 0)
