"""The deliverability guard on real servers (issue 14, item 8): the time-skipping Temporal
server, a worker, PostgreSQL, aiosmtpd and the REST API. Bounces push a brand's rate over 2%,
the brand pauses itself, a deal's send waits (nothing on the wire) and, once a person
resumes, goes out exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from dealpilot.intake import Inbound, record
from models import (
    AIDecisionLog,
    Brand,
    EmailEventType,
    EmailLog,
    EmailStatus,
    session_scope,
    utcnow,
)
from tests.api_workflows.conftest import Api

HISTORY = 24  # earlier sends of the brand, none bounced


def _history(api: Api, brand_slug: str, now: datetime) -> list[int]:
    """24 sends an hour before `now` (the server's clock, ahead of the wall clock once other
    tests skipped time), to two recipient domains."""
    with session_scope(api.stack.engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == brand_slug)).one()
        rows = [
            EmailLog(
                idempotency_key=f"history-{i}",
                brand_id=brand.id or 0,
                to_email=f"p{i}@{'gmail.com' if i % 2 else 'bigpond.net.au'}",
                subject="Earlier",
                status=EmailStatus.sent,
                sent_at=now - timedelta(hours=1),
            )
            for i in range(HISTORY)
        ]
        s.add_all(rows)
        s.flush()
        return [r.id or 0 for r in rows]


async def test_bounces_pause_the_brand_and_the_waiting_send_goes_once_after_resume(
    api: Api,
) -> None:
    stack = api.stack
    stack.open_window("codeteki")
    brand_id = stack.brand("codeteki").id
    logs = _history(api, "codeteki", await stack.env.get_current_time())
    await stack.enrol("first@acme.com.au", brand="codeteki", pipeline="sales")
    await stack.env.sleep(timedelta(minutes=5))
    assert len(stack.inbox.to("first@acme.com.au")) == 1  # 25 sends, no bounce: sending

    # One hard bounce: 1 of 25 sends is 4.0%, over 2% with at least 20 sends.
    with session_scope(stack.engine) as s:
        record(
            s,
            Inbound(
                event_type=EmailEventType.bounce,
                source="webhook",
                dedupe_key="bounce-1",
                occurred_at=utcnow(),
                brand_id=brand_id,
                email_log_id=logs[1],
                email="p1@gmail.com",
                text="550 no such user",
            ),
        )
    r = await api.http.get(f"/api/crm/brands/{brand_id}/deliverability/")
    assert r.status_code == 200, r.text
    before = r.json()
    assert (before["paused"], before["rates"]["sends"], before["rates"]["bounces"]) == (
        False,
        25,
        1,
    )
    assert before["rates"]["bounce_rate"] == 0.04
    gmail = next(d for d in before["domains"] if d["scope"] == "gmail.com")
    assert (gmail["sends"], gmail["bounces"], gmail["bounce_rate"]) == (12, 1, 0.0833)

    await stack.enrol("second@acme.com.au", brand="codeteki", pipeline="sales")
    await stack.env.sleep(timedelta(hours=3))
    assert stack.inbox.to("second@acme.com.au") == []  # the send waits: nothing on the wire
    r = await api.http.get(f"/api/crm/brands/{brand_id}/deliverability/")
    paused = r.json()
    assert paused["paused"] is True
    assert paused["paused_reason"] == ("bounce rate 4.0% (1 of 25 sends in 7 days) is over 2%")
    with Session(stack.engine) as s:
        decisions = s.exec(
            select(AIDecisionLog).where(col(AIDecisionLog.decision_type).like("deliverability%"))
        ).all()
        pending = s.exec(select(EmailLog).where(EmailLog.to_email == "second@acme.com.au")).all()
    assert [(d.decision_type, d.action_taken) for d in decisions] == [
        ("deliverability_pause", "paused:bounces")
    ]
    assert {k: decisions[0].meta[k] for k in ("sends", "bounces", "bounce_rate")} == {
        "sends": 25,
        "bounces": 1,
        "bounce_rate": 0.04,
    }
    assert [row.status for row in pending] == [EmailStatus.pending]  # kept, not dropped

    r = await api.http.post(f"/api/crm/brands/{brand_id}/resume-sending/")
    assert r.status_code == 200, r.text
    assert r.json()["paused"] is False
    again = await api.http.post(f"/api/crm/brands/{brand_id}/resume-sending/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_paused"
    await stack.env.sleep(timedelta(hours=2))
    assert len(stack.inbox.to("second@acme.com.au")) == 1  # sent once, after the resume
    await stack.env.sleep(timedelta(hours=2))
    assert len(stack.inbox.to("second@acme.com.au")) == 1
    with Session(stack.engine) as s:
        kinds = s.exec(
            select(AIDecisionLog.decision_type)
            .where(col(AIDecisionLog.decision_type).like("deliverability%"))
            .order_by(col(AIDecisionLog.id))
        ).all()
    assert kinds == ["deliverability_pause", "deliverability_resume"]
