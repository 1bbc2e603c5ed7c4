"""Scheduled drafts (every minute): composer drafts whose time has come are sent through the
composer's one send path (`dealpilot.composer.sending.release_due`), as
`POST /api/crm/composer/drafts/{id}/send` would send them.

Each due draft is sent once (its row locked, status checked, deals created and the draft marked
sent in one transaction), then each deal's workflow starts with the draft as its first email.
Deals a previous attempt created but could not start are started here too, so a retry or a
Temporal outage loses nothing. Each of those steps is its own unit of work, run through the
`Transact` the activity hands in.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from dealpilot.composer.sending import release_due
from dealpilot.temporal.deals import DealWorkflows
from models.uow import Transact
from workflows.jobs import DueDraftsReport

log = structlog.get_logger(__name__)


async def release_scheduled_drafts(
    temporal: DealWorkflows, transact: Transact, *, now: datetime
) -> DueDraftsReport:
    released = await release_due(temporal, transact, now=now)
    if released.drafts or released.failed or released.deals_started:
        log.info(
            "drafts.released",
            drafts=released.drafts,
            failed=released.failed,
            deals=released.deals_started,
        )
    return DueDraftsReport(drafts=released.drafts, deals_started=released.deals_started)
