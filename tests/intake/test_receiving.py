"""Receiving (one insert-if-new, committed with the requests in flight) and settling (matched
after the answer), on SQLite and PostgreSQL, without Temporal."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from dealpilot.core.errors import ServiceUnavailable
from dealpilot.intake import Inbound, Receiver, Relay, count_pending
from dealpilot.intake.receiving import received_row
from models import EmailEvent, EmailEventType, EmailLog, utcnow
from models.uow import UnitsOfWork
from tests.factories import make_brand, make_contact, make_deal, make_email_log, make_pipeline

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0"


def _sent(engine: Engine) -> tuple[int, int, int, str]:
    """(brand id, deal id, email log id, the brand's address) of one sent email."""
    with Session(engine, expire_on_commit=False) as s:
        brand = make_brand(s, slug="alpha")
        deal = make_deal(
            s,
            contact=make_contact(s, brand=brand, email="lee@example.com"),
            pipeline=make_pipeline(s, brand=brand),
        )
        log = make_email_log(s, deal=deal)
        log.message_id = "<dp.1.1.abc@alpha.example.com>"
        s.add(log)
        s.commit()
        assert brand.id is not None
        assert deal.id is not None
        assert log.id is not None
        return brand.id, deal.id, log.id, brand.from_email


def _open(log_id: int, key: str) -> Inbound:
    return Inbound(
        event_type=EmailEventType.open,
        source="pixel",
        dedupe_key=key,
        occurred_at=utcnow(),
        email_log_id=log_id,
        is_bot=False,
        payload={"user_agent": BROWSER},
    )


def _rows(engine: Engine) -> list[EmailEvent]:
    with Session(engine) as s:
        return list(s.exec(select(EmailEvent).order_by(EmailEvent.id)).all())  # type: ignore[arg-type]


async def test_concurrent_requests_share_one_insert_and_a_duplicate_is_stored_once(
    any_engine: Engine,
) -> None:
    _brand, deal_id, log_id, address = _sent(any_engine)
    receiver = Receiver(any_engine)
    reply = Inbound(
        event_type=EmailEventType.reply,
        source="webhook",
        dedupe_key="<r1@client.example>",
        occurred_at=utcnow(),
        message_ids=("<DP.1.1.ABC@alpha.example.com>",),
        recipients=(address.upper(),),
        email="lee@example.com",
        text="Yes, call me",
    )
    answers = await asyncio.gather(
        receiver.receive([_open(log_id, "a")]),
        receiver.receive([_open(log_id, "a")]),  # the same open twice, side by side
        receiver.receive([_open(log_id, "b"), reply]),
    )
    assert sorted(answers) == [[False], [True], [True, True]]
    assert await receiver.receive([reply]) == [False]  # the provider retried
    rows = _rows(any_engine)
    assert len(rows) == 3
    # Committed, owed to a deal, not matched yet.
    assert {(r.settled, r.deal_id) for r in rows} == {(False, None)}
    with Session(any_engine) as s:
        assert count_pending(s) == 3
        assert s.get(EmailLog, log_id).opened is False  # type: ignore[union-attr]

    # A relay without Temporal settles them: matched as `record` matches, flags set.
    relay = Relay(None, UnitsOfWork(any_engine))
    report = await relay.run_once()
    assert report.pending == 3  # matched now, delivered by a relay with Temporal
    rows = _rows(any_engine)
    assert {(r.settled, r.deal_id, r.email_log_id) for r in rows} == {(True, deal_id, log_id)}
    assert {r.email for r in rows} == {"lee@example.com"}
    with Session(any_engine) as s:
        assert s.get(EmailLog, log_id).opened is True  # type: ignore[union-attr]


async def test_a_reply_to_nothing_of_ours_is_unmatched_once_settled(any_engine: Engine) -> None:
    brand_id, _deal, _log, address = _sent(any_engine)
    stranger = Inbound(
        event_type=EmailEventType.reply,
        source="webhook",
        dedupe_key="<who@elsewhere.example>",
        occurred_at=utcnow(),
        message_ids=("<not-ours@elsewhere.example>",),
        recipients=(address,),
        email="who@elsewhere.example",
        text="Who is this?",
    )
    assert await Receiver(any_engine).receive([stranger]) == [True]
    await Relay(None, UnitsOfWork(any_engine)).run_once()
    (row,) = _rows(any_engine)
    # Its brand found from the address it was sent to; no deal.
    assert (row.settled, row.brand_id, row.deal_id) == (True, brand_id, None)


def test_suppressing_events_are_never_only_received() -> None:
    for kind in (EmailEventType.unsubscribe, EmailEventType.complaint, EmailEventType.bounce):
        inbound = Inbound(event_type=kind, source="x", dedupe_key="k", occurred_at=utcnow())
        with pytest.raises(ValueError, match="recorded in full"):
            received_row(inbound)


async def test_a_lost_connection_refuses_its_batch_and_the_next_connects_again(
    engine: Engine,
) -> None:
    """PostgreSQL: the receiver's connections are kept open; one the server dropped refuses the
    batch it was sending (the requests answer 503, nothing is claimed stored) and the next batch
    connects again. What was answered as stored is stored, once."""
    _brand, deal_id, log_id, _address = _sent(engine)
    receiver = Receiver(engine)
    assert await receiver.receive([_open(log_id, "before")]) == [True]
    with engine.connect() as conn:  # every connection the receiver holds, dropped
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE '%dealpilot_receive%'"
            )
        )
    with pytest.raises(ServiceUnavailable):
        await receiver.receive([_open(log_id, "lost")])
    assert await receiver.receive([_open(log_id, "after"), _open(log_id, "before")]) == [
        True,
        False,
    ]
    await Relay(None, UnitsOfWork(engine)).run_once()
    rows = _rows(engine)
    assert [r.dedupe_key for r in rows] == ["before", "after"]
    assert {(r.settled, r.deal_id) for r in rows} == {(True, deal_id)}


async def test_concurrent_batches_store_each_event_once(any_engine: Engine) -> None:
    """Many requests at once (several batches in flight on PostgreSQL, each its own statement),
    with every event sent twice: each stored once, and exactly one of its two requests hears it
    was new."""
    _brand, _deal, log_id, _address = _sent(any_engine)
    receiver = Receiver(any_engine)
    keys = [f"k{n}" for n in range(60)] * 2
    answers = await asyncio.gather(*(receiver.receive([_open(log_id, k)]) for k in keys))
    new = [k for k, (created,) in zip(keys, answers, strict=True) if created]
    assert sorted(new) == sorted(set(keys))
    assert sorted(r.dedupe_key for r in _rows(any_engine)) == sorted(set(keys))
