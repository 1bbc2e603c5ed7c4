"""Starting deal workflows once their rows are committed: the one start path of the API's
requests, the importers, the composer, the CLI and the demo.

    async with unit_of_work(engine) as uow:
        deals = service.create(uow.session, ...)            # flushed, not committed
        started = start_after_commit(uow, workflows, [d.id for d in deals])
    # committed, then started: `started` holds the workflow id per deal (None: not started)

`start_and_record` is the same without the queue, for callers that already committed: it reads
the deals and stores their workflow ids through the caller's `Transact`, one unit of work each,
with no transaction open while Temporal is called.

Each start is idempotent (`deal-{id}`, USE_EXISTING) and `Deal.workflow_id` is stored once it
succeeded. When Temporal is not configured or cannot be reached, the deal keeps `workflow_id`
null and the failure is logged (`workflow_start_failed`): nothing is lost, find such deals with
`GET /api/crm/deals/?has_workflow=false` and start them with `POST /api/crm/deals/{id}/start/`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import partial

import structlog
from sqlalchemy import Integer, String, bindparam, column, select, update, values
from sqlmodel import Session, col

from dealpilot.temporal.deals import DealStart, DealWorkflows
from models import (
    Brand,
    Contact,
    Deal,
    EmailDraft,
    EmailSequence,
    Pipeline,
    PipelineStage,
    SequenceStep,
)
from models.uow import Transact, UnitOfWork
from workflows.contracts import SequencePlan, SequenceStepPlan

log = structlog.get_logger(__name__)


def load_start_infos(session: Session, deal_ids: Iterable[int]) -> list[DealStart]:
    rows = session.execute(
        select(
            col(Deal.id),
            col(Brand.slug),
            col(Pipeline.name),
            col(PipelineStage.name),
            col(Contact.email),
            col(Contact.name),
        )
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .join(Pipeline, col(Pipeline.id) == col(Deal.pipeline_id))
        .join(Brand, col(Brand.id) == col(Pipeline.brand_id))
        .join(PipelineStage, col(PipelineStage.id) == col(Deal.stage_id))
        .where(col(Deal.id).in_(list(deal_ids)))
        .order_by(col(Deal.id))
    ).all()
    plans = sequence_plans(session, [row[0] for row in rows])
    return [replace(DealStart(*row), sequence=plans.get(row[0])) for row in rows]


def sequence_plans(session: Session, deal_ids: list[int]) -> dict[int, SequencePlan]:
    """Each deal's email sequence as it reads now: the snapshot its workflow keeps."""
    chosen: dict[int, int] = dict(
        session.execute(
            select(col(Deal.id), col(Deal.sequence_id)).where(
                col(Deal.id).in_(deal_ids), col(Deal.sequence_id).is_not(None)
            )
        ).all()
    )
    if not chosen:
        return {}
    ids = set(chosen.values())
    names = dict(
        session.execute(
            select(col(EmailSequence.id), col(EmailSequence.name)).where(
                col(EmailSequence.id).in_(ids)
            )
        ).all()
    )
    steps: dict[int, list[SequenceStepPlan]] = {i: [] for i in names}
    for step in session.execute(
        select(SequenceStep)
        .where(col(SequenceStep.sequence_id).in_(ids))
        .order_by(col(SequenceStep.order))
    ).scalars():
        steps[step.sequence_id].append(
            SequenceStepPlan(
                order=step.order,
                delay_days=step.delay_days,
                subject=step.subject_template,
                body=step.body_template,
            )
        )
    return {
        deal_id: SequencePlan(sequence_id=sid, name=names[sid], steps=steps[sid])
        for deal_id, sid in chosen.items()
        if sid in names and steps[sid]
    }


def is_one_off(session: Session, draft_id: int) -> bool:
    """A one-off composer draft: its deals send it and schedule no follow-ups."""
    draft = session.get(EmailDraft, draft_id)
    return draft is not None and draft.one_off


RECORD_CHUNK = 2000  # rows per UPDATE (two bound parameters each, well under any limit)


def record_workflow_ids(session: Session, started: dict[int, str]) -> None:
    """On PostgreSQL a statement per 2,000 deals (a bulk enrolment may start thousands):
    UPDATE ... FROM a VALUES list, where psycopg2's executemany is a round trip per row
    (5,000 rows: 7 s on a busy 2-core machine). SQLite, in process, has no round trips and no
    column list on a VALUES alias: an executemany there."""
    rows = list(started.items())
    if session.get_bind().dialect.name != "postgresql":
        if rows:
            stmt = update(Deal).where(col(Deal.id) == bindparam("deal_id"))
            params = [{"deal_id": deal_id, "wid": wid} for deal_id, wid in rows]
            session.connection().execute(stmt.values(workflow_id=bindparam("wid")), params)
        return
    for offset in range(0, len(rows), RECORD_CHUNK):
        chunk = values(column("deal_id", Integer), column("wid", String), name="started").data(
            rows[offset : offset + RECORD_CHUNK]
        )
        session.execute(
            update(Deal)
            .where(col(Deal.id) == chunk.c.deal_id)
            .values(workflow_id=chunk.c.wid)
            .execution_options(synchronize_session=False)
        )


async def start_and_record(
    workflows: DealWorkflows | None,
    transact: Transact,
    deal_ids: Iterable[int],
    *,
    draft_id: int | None = None,
) -> dict[int, str | None]:
    """Starts the committed deals' workflows (with `draft_id` as their first email, for the
    composer) and stores the ids of those that started. The workflow id per deal, None where
    it did not start."""
    ids = list(deal_ids)
    if workflows is None:
        log.warning("workflow_start_skipped", reason="temporal_not_configured", deals=len(ids))
        return dict.fromkeys(ids)
    infos = await transact(partial(load_start_infos, deal_ids=ids))
    if draft_id is not None:
        one_off = await transact(partial(is_one_off, draft_id=draft_id))
        infos = [replace(info, draft_id=draft_id, one_off=one_off) for info in infos]
    started = await workflows.start_many(infos)
    ok = {deal_id: wid for deal_id, wid in started.items() if wid is not None}
    if ok:
        await transact(partial(record_workflow_ids, started=ok))
    log.info("workflows_started", started=len(ok), failed=len(started) - len(ok))
    return started


def start_after_commit(
    uow: UnitOfWork,
    workflows: DealWorkflows | None,
    deal_ids: Iterable[int],
    *,
    draft_id: int | None = None,
) -> dict[int, str | None]:
    """Queues the deals' starts on the unit of work's after-commit work. The returned dict is
    filled (workflow id or None per deal) once the commit and the starts have run."""
    ids = list(deal_ids)
    started: dict[int, str | None] = {}
    if not ids:
        return started
    transact = uow.transact

    async def start() -> None:
        started.update(await start_and_record(workflows, transact, ids, draft_id=draft_id))

    uow.after_commit.add(start)
    return started
