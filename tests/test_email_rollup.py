"""The stats' per-pipeline email outcomes are kept by triggers (migration 0009): after every
kind of change to email logs, the rollup equals counting the logs themselves."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, select

from models import EmailLog, EmailRollup, EmailStatus
from tests.factories import make_brand, make_contact, make_deal, make_email_log, make_pipeline

COUNTED = sa.text(
    """
    SELECT d.pipeline_id, count(*),
           sum(CASE WHEN l.opened THEN 1 ELSE 0 END), sum(CASE WHEN l.clicked THEN 1 ELSE 0 END),
           sum(CASE WHEN l.replied THEN 1 ELSE 0 END), sum(CASE WHEN l.bounced THEN 1 ELSE 0 END)
      FROM emaillog l JOIN deal d ON d.id = l.deal_id
     WHERE l.status = 'sent' GROUP BY d.pipeline_id
    """
)


def rollup(session: Session) -> dict[int, tuple[int, ...]]:
    rows = session.exec(select(EmailRollup)).all()
    return {
        r.pipeline_id: (r.sent, r.opened, r.clicked, r.replied, r.bounced) for r in rows if r.sent
    }


def counted(session: Session) -> dict[int, tuple[int, ...]]:
    return {row[0]: tuple(int(v) for v in row[1:]) for row in session.execute(COUNTED)}


def test_rollup_follows_every_change_to_email_logs(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        brand = make_brand(s, slug="codeteki")
        sales, other = (make_pipeline(s, brand=brand, slug=slug) for slug in ("sales", "other"))
        deals = [
            make_deal(s, contact=make_contact(s, brand=brand), pipeline=p)
            for p in (sales, sales, other)
        ]
        logs = [
            make_email_log(s, deal=deals[0], opened=True),
            make_email_log(s, deal=deals[1], clicked=True, replied=True),
            make_email_log(s, deal=deals[2], bounced=True),
            make_email_log(s, deal=deals[0], status=EmailStatus.failed, opened=True),
            make_email_log(s, deal=deals[1], status=EmailStatus.sending),
        ]
        assert rollup(s) == counted(s) == {sales.id: (2, 1, 1, 1, 0), other.id: (1, 0, 0, 0, 1)}

        # An open and a click on one email, a reply on another (the ORM, one row at a time).
        logs[0].clicked = True
        logs[2].replied = True
        s.add_all([logs[0], logs[2]])
        s.commit()
        # A send that finished (sending -> sent), one that turned out unknown (sent -> unknown).
        s.execute(sa.update(EmailLog).where(EmailLog.id == logs[4].id).values(status="sent"))
        s.execute(sa.update(EmailLog).where(EmailLog.id == logs[1].id).values(status="unknown"))
        # A bulk update over several rows, then a change that touches no counted column.
        s.execute(sa.update(EmailLog).values(opened=True))
        s.execute(sa.update(EmailLog).values(subject="Changed"))
        s.commit()
        assert rollup(s) == counted(s) == {sales.id: (2, 2, 1, 0, 0), other.id: (1, 1, 0, 1, 1)}

        # An email moved to a deal in the other pipeline, and one deleted.
        s.execute(sa.update(EmailLog).where(EmailLog.id == logs[0].id).values(deal_id=deals[2].id))
        s.execute(sa.delete(EmailLog).where(EmailLog.id == logs[2].id))
        s.commit()
        assert rollup(s) == counted(s) == {sales.id: (1, 1, 0, 0, 0), other.id: (1, 1, 1, 0, 0)}
