"""Sending a composer draft: the one send path of `POST .../send`, `dealpilot compose send`
and the scheduled-drafts job.

1. One transaction (`enrol_draft`): the draft row is locked and must be unsent; its recipients
   (listed, pasted, the saved filter) are resolved; contacts the brand does not know yet are
   created (source "composer"); suppressed addresses, duplicates, invalid addresses and
   contacts with an open deal in the pipeline are skipped with a reason; the deals are
   created at the pipeline's first stage by the bulk enrolment (`dealpilot.deals.bulk.enrol`);
   the draft becomes `sent` with the outcome. Commit. A draft is therefore sent once, however
   often a request or the job is retried.
2. After the commit (`_start`, each database step through the caller's `Transact`): each deal's
   workflow starts with the draft as its first email (`DealStart.draft_id`), so the deal
   itself sends the email to its contact inside the brand's window, caps and suppression;
   later follow-ups are the pipeline's stage emails. Workflow ids are stored on the deals
   and in the draft's outcome.

If Temporal cannot be reached in step 2 the deals stay (`workflow_id` null, counted in
`outcome.workflows_pending`); the scheduled-drafts job starts them on its next run
(`start_pending`), still with the draft as their first email.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlmodel import Session, col, select

from dealpilot.composer.recipients import get_draft, resolve
from dealpilot.composer.rules import CONTACT_SOURCE, RecipientFilter
from dealpilot.composer.schemas import SENDABLE, RecipientStatus
from dealpilot.composer.service import require_sendable
from dealpilot.core.errors import Conflict, DealpilotError, ServiceUnavailable
from dealpilot.deals import bulk
from dealpilot.deals.schemas import BulkEnrolRequest
from dealpilot.deals.service import OPEN_STATUSES
from dealpilot.temporal.deals import DealWorkflows
from dealpilot.temporal.starting import start_and_record
from models import (
    Brand,
    Contact,
    Deal,
    DraftKind,
    DraftStatus,
    EmailDraft,
    Pipeline,
    utcnow,
)
from models.uow import Transact

log = structlog.get_logger(__name__)

SENDABLE_STATUSES = (DraftStatus.draft, DraftStatus.scheduled, DraftStatus.approved)
# Sent drafts whose deals still wait for their workflow are retried this long.
PENDING_HORIZON = timedelta(days=7)


class DraftAlreadySent(Conflict):
    code = "draft_already_sent"


@dataclass
class Released:
    """What one run of the scheduled-drafts job did."""

    drafts: list[int] = field(default_factory=list)
    deals_started: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # due drafts that could not be sent


# ------------------------------------------------------------------ 1. the transaction
def enrol_draft(
    session: Session, draft_id: int, *, due_by: datetime | None = None
) -> list[int] | None:
    """Creates the draft's deals and marks it sent (flushed; the caller commits). Returns the
    new deal ids. With `due_by` (the job) a draft that is no longer scheduled or not yet due
    is left alone (None); otherwise a sent draft is a 409."""
    draft = get_draft(session, draft_id, lock=True)
    if due_by is not None:
        due = draft.scheduled_at is not None and draft.scheduled_at <= due_by
        if draft.status != DraftStatus.scheduled or not due:
            return None
    elif draft.status == DraftStatus.sent:
        raise DraftAlreadySent(
            f"Draft {draft_id} was already sent at {draft.sent_at:%Y-%m-%d %H:%M} UTC; "
            "it is never sent twice",
        )
    elif draft.status not in SENDABLE_STATUSES:
        raise Conflict(
            f"Draft {draft_id} is {draft.status}: it cannot be sent", code="not_sendable"
        )
    require_sendable(draft)
    brand = session.get(Brand, draft.brand_id)
    pipeline = session.get(Pipeline, draft.pipeline_id)
    if brand is None or pipeline is None or pipeline.brand_id != brand.id:
        raise Conflict(
            f"Draft {draft_id}'s pipeline is gone or belongs to another brand",
            code="pipeline_mismatch",
        )
    assert pipeline.id is not None
    filt = RecipientFilter(**draft.recipient_filter) if draft.recipient_filter else None
    resolution = resolve(session, brand, pipeline, addresses=draft.recipients, filt=filt)
    skipped: list[dict[str, Any]] = [
        {
            "email": r.email or r.input,
            "contact_id": r.contact_id,
            "reason": str(r.status),
            "message": r.message,
        }
        for r in resolution.recipients
        if r.status not in SENDABLE
    ]
    chosen = [r for r in resolution.recipients if r.status in SENDABLE]
    for r in chosen:
        if r.status == RecipientStatus.new:
            assert r.email is not None
            contact = Contact(
                brand_id=brand.id or 0, email=r.email, name=r.name, source=CONTACT_SOURCE
            )
            session.add(contact)
            session.flush()
            r.contact_id = contact.id
    deals: list[Deal] = []
    contacts: list[Contact] = []
    if chosen:
        # The bulk enrolment locks the contacts and checks suppression and open deals again,
        # so a concurrent request cannot slip a second deal in.
        request = BulkEnrolRequest(
            pipeline_id=pipeline.id, contact_ids=[r.contact_id or 0 for r in chosen]
        )
        deals, contacts, late = bulk.enrol(session, request)
        skipped += [s.model_dump() for s in late]
    draft.status, draft.sent_at = DraftStatus.sent, utcnow()
    draft.updated_at = draft.sent_at
    draft.outcome = {
        "deals": [
            {"deal_id": d.id, "contact_id": c.id, "email": c.email, "workflow_id": None}
            for d, c in zip(deals, contacts, strict=True)
        ],
        "skipped": skipped,
        "workflows_started": 0,
        "workflows_pending": len(deals),
    }
    session.add(draft)
    session.flush()
    log.info("composer.draft_sent", draft_id=draft_id, deals=len(deals), skipped=len(skipped))
    return [d.id or 0 for d in deals]


# ------------------------------------------------------------- 2. after the commit
def _record_outcome(session: Session, draft_id: int, started: dict[int, str | None]) -> None:
    draft = session.exec(
        select(EmailDraft).where(EmailDraft.id == draft_id).with_for_update()
    ).first()
    if draft is None:
        return
    outcome = dict(draft.outcome or {})
    deals = [dict(d) for d in outcome.get("deals", [])]
    for deal in deals:
        wid = started.get(deal["deal_id"])
        if wid is not None:
            deal["workflow_id"] = wid
    outcome["deals"] = deals
    outcome["workflows_started"] = sum(1 for d in deals if d["workflow_id"])
    outcome["workflows_pending"] = len(deals) - outcome["workflows_started"]
    draft.outcome = outcome  # a new dict: the JSON column sees the change
    session.add(draft)
    session.flush()


async def _start(
    workflows: DealWorkflows | None, transact: Transact, draft_id: int, deal_ids: list[int]
) -> dict[int, str | None]:
    """After the commit: the deals' workflows start with the draft as their first email, then
    the draft's outcome records which started. The workflow id per deal."""
    if not deal_ids:
        return {}
    started = await start_and_record(workflows, transact, deal_ids, draft_id=draft_id)
    await transact(partial(_record_outcome, draft_id=draft_id, started=started))
    return started


# ---------------------------------------------------------------------- entry points
async def send_now(
    workflows: DealWorkflows | None, transact: Transact, draft_id: int
) -> EmailDraft:
    """`POST .../send` and `dealpilot compose send`. Without Temporal nothing is changed
    (503): the deals would have no one to send their email."""
    if workflows is None:
        raise ServiceUnavailable(
            "Temporal is not configured; a draft is sent by its deals' workflows",
            code="temporal_unavailable",
        )
    deal_ids = await transact(partial(enrol_draft, draft_id=draft_id))
    await _start(workflows, transact, draft_id, deal_ids or [])
    return await transact(partial(get_draft, draft_id=draft_id))


def _due(session: Session, now: datetime, limit: int) -> list[int]:
    return [
        draft_id or 0
        for draft_id in session.exec(
            select(EmailDraft.id)
            .where(
                EmailDraft.status == DraftStatus.scheduled,
                col(EmailDraft.kind) == DraftKind.composer,
                col(EmailDraft.scheduled_at) <= now,
            )
            .order_by(col(EmailDraft.scheduled_at), col(EmailDraft.id))
            .limit(limit)
        ).all()
    ]


def _unschedule_failed(session: Session, draft_id: int, exc: DealpilotError) -> None:
    """A due draft that cannot be sent (incomplete, pipeline gone...) goes back to `draft`
    with the reason, instead of failing every minute."""
    draft = session.get(EmailDraft, draft_id)
    if draft is None or draft.status != DraftStatus.scheduled:
        return
    draft.status, draft.updated_at = DraftStatus.draft, utcnow()
    draft.outcome = {"error": {"code": exc.code, "message": exc.message}}
    session.add(draft)
    session.flush()


def _pending(session: Session, since: datetime) -> dict[int, list[int]]:
    """Sent drafts whose deals are still waiting for their workflow: draft id -> deal ids."""
    drafts = session.exec(
        select(EmailDraft).where(
            EmailDraft.status == DraftStatus.sent,
            col(EmailDraft.kind) == DraftKind.composer,
            col(EmailDraft.sent_at) >= since,
        )
    ).all()
    waiting = {
        d.id or 0: [x["deal_id"] for x in d.outcome.get("deals", []) if not x["workflow_id"]]
        for d in drafts
        if (d.outcome or {}).get("workflows_pending")
    }
    ids = [deal_id for deal_ids in waiting.values() for deal_id in deal_ids]
    if not ids:
        return {}
    startable = set(
        session.exec(
            select(Deal.id).where(
                col(Deal.id).in_(ids),
                col(Deal.workflow_id).is_(None),
                col(Deal.status).in_(OPEN_STATUSES),
            )
        ).all()
    )
    return {
        draft_id: [i for i in deal_ids if i in startable]
        for draft_id, deal_ids in waiting.items()
        if any(i in startable for i in deal_ids)
    }


async def start_pending(workflows: DealWorkflows, transact: Transact) -> list[int]:
    """Starts the workflows a send could not start (Temporal was down, or the job's attempt
    died between its commit and the starts). Returns the deals started."""
    # sent_at is the database's clock, not the job's (which tests skip ahead).
    pending = await transact(partial(_pending, since=utcnow() - PENDING_HORIZON))
    done: list[int] = []
    for draft_id, deal_ids in pending.items():
        started = await _start(workflows, transact, draft_id, deal_ids)
        done += [deal_id for deal_id, wid in started.items() if wid is not None]
    return done


async def release_due(
    workflows: DealWorkflows, transact: Transact, *, now: datetime, limit: int = 100
) -> Released:
    """The scheduled-drafts job: sends every draft due by `now` through `enrol_draft` (each
    once, in its own unit of work, committed before its deals' workflows start), then starts
    the deals still waiting for a workflow."""
    report = Released()
    for draft_id in await transact(partial(_due, now=now, limit=limit)):
        try:
            deal_ids = await transact(partial(enrol_draft, draft_id=draft_id, due_by=now))
            started = await _start(workflows, transact, draft_id, deal_ids or [])
        except DealpilotError as exc:
            log.warning("composer.scheduled_draft_failed", draft_id=draft_id, code=exc.code)
            await transact(partial(_unschedule_failed, draft_id=draft_id, exc=exc))
            report.failed.append(draft_id)
            continue
        if deal_ids is None:
            continue  # sent or unscheduled meanwhile
        report.drafts.append(draft_id)
        report.deals_started += [d for d, wid in started.items() if wid is not None]
    report.deals_started += await start_pending(workflows, transact)
    return report
