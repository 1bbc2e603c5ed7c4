"""Product events (a user registered, completed a profile, posted a first listing...) move the
contact's onboarding deals forward.

The event -> stage mapping is `PROGRESS`, below, and nowhere else. A stage move goes to the
deal's workflow as its `move_stage` update (`DealWorkflows.move_stage`), so the workflow stays the
authority on the deal and sends the stage's email on entry. Moves go forward only: an event
for the deal's current stage or an earlier one changes nothing and says so, which also makes
a redelivered event harmless.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlmodel import Session, col

from dealpilot.core.errors import DealpilotError, ErrorDetail, NotFound, Unprocessable
from dealpilot.deals import service as deal_service
from dealpilot.deals.lookup import resolve_brand_id
from dealpilot.temporal.deals import DealWorkflows, require_workflows
from models import Contact, Deal, Pipeline, PipelineStage
from models.contact import Suppression, normalise_email
from models.deal import DealCreate
from workflows.contracts import MoveStageRequest


class ProductEvent(StrEnum):
    registered = "registered"
    profile_completed = "profile_completed"
    agency_created = "agency_created"
    team_invited = "team_invited"
    first_listing = "first_listing"
    active_lister = "active_lister"
    business_listed = "business_listed"
    agent_profile_created = "agent_profile_created"
    event_posted = "event_posted"
    # Sign-ups by kind: each enrols its Registered Users pipeline and stops the directory
    # invitations (the directory deal moves to its signed-up stage).
    business_registered = "business_registered"
    agent_registered = "agent_registered"
    organizer_registered = "organizer_registered"
    ad_posted = "ad_posted"


@dataclass(frozen=True)
class Progress:
    """An event moves the contact's deal in `pipeline` (slug) to `stage` (slug). With
    `enrols`, a contact who has no deal in that pipeline yet is enrolled at that stage."""

    pipeline: str
    stage: str
    enrols: bool = False


_AGENTS = "agents_agencies"
_REG_BUSINESS, _REG_AGENT, _REG_EVENTS = (
    "registered_business",
    "registered_real_estate",
    "registered_events",
)

# The one place that says which event moves which deal where.
PROGRESS: dict[ProductEvent, tuple[Progress, ...]] = {
    ProductEvent.registered: (Progress(_AGENTS, "registered", enrols=True),),
    ProductEvent.profile_completed: (Progress(_AGENTS, "profile_complete"),),
    ProductEvent.agency_created: (Progress(_AGENTS, "agency_created"),),
    ProductEvent.team_invited: (Progress(_AGENTS, "team_invited"),),
    ProductEvent.first_listing: (
        Progress(_AGENTS, "first_listing"),
        Progress("real_estate", "listing_properties"),
    ),
    ProductEvent.active_lister: (Progress(_AGENTS, "active_lister"),),
    ProductEvent.business_listed: (
        Progress(_REG_BUSINESS, "listed"),
        Progress("business_listings", "listed"),
    ),
    ProductEvent.agent_profile_created: (Progress(_REG_AGENT, "agent_profile_created"),),
    ProductEvent.event_posted: (
        Progress(_REG_EVENTS, "event_posted"),
        Progress("events", "event_listed"),
    ),
    ProductEvent.business_registered: (
        Progress(_REG_BUSINESS, "registered", enrols=True),
        Progress("business_listings", "signed_up"),
    ),
    ProductEvent.agent_registered: (
        Progress(_REG_AGENT, "registered", enrols=True),
        Progress("real_estate", "registered"),
    ),
    ProductEvent.organizer_registered: (
        Progress(_REG_EVENTS, "registered", enrols=True),
        Progress("events", "signed_up"),
    ),
    ProductEvent.ad_posted: (Progress("classifieds", "ad_posted"),),
}


class ProductEventIn(BaseModel):
    brand: str | int = Field(description="Brand slug or id")
    email: str | None = Field(None, max_length=320, description="The contact, by email ...")
    contact_id: int | None = Field(None, description="... or by id")
    event: ProductEvent
    occurred_at: datetime | None = Field(None, description="When it happened (default: now)")

    @model_validator(mode="after")
    def _one_contact(self) -> ProductEventIn:
        if self.email is None and self.contact_id is None:
            raise ValueError("name the contact by `email` or `contact_id`")
        if self.email is not None:
            self.email = normalise_email(self.email)
        if self.occurred_at is not None:
            at = self.occurred_at
            self.occurred_at = (at.replace(tzinfo=UTC) if at.tzinfo is None else at).astimezone(UTC)
        return self


Outcome = Literal[
    "moved",  # the workflow moved the deal to the event's stage
    "enrolled",  # a new deal was created at the event's stage and its workflow started
    "already_at_stage",  # nothing to do (a redelivered event)
    "stale_event",  # the deal is already past the event's stage: an older event, ignored
    "deal_closed",  # the deal is won or lost
    "no_deal",  # the contact has no deal in the pipeline
    "suppressed",  # not enrolled: the brand may not email this address
    "no_such_stage",  # the pipeline no longer has the mapped stage
]


class EventOutcome(BaseModel):
    pipeline_id: int
    pipeline_slug: str
    outcome: Outcome
    deal_id: int | None = None
    from_stage: str | None = None
    to_stage: str | None = None
    workflow_id: str | None = None
    detail: str = ""


class ProductEventResult(BaseModel):
    event: ProductEvent
    contact_id: int
    occurred_at: datetime
    moved: int = Field(description="Deals moved or enrolled by this event")
    results: list[EventOutcome]


@dataclass
class Move:
    """A deal the event may move, once its workflow has told us where the deal is."""

    deal: Deal
    pipeline: Pipeline
    target: PipelineStage
    stages: dict[int, PipelineStage]  # the pipeline's stages by id


@dataclass
class Plan:
    contact_id: int
    moves: list[Move] = field(default_factory=list)
    enrolled: list[tuple[Deal, Pipeline, PipelineStage]] = field(default_factory=list)
    done: list[EventOutcome] = field(default_factory=list)


def _contact(session: Session, brand_id: int, req: ProductEventIn) -> Contact:
    stmt = select(Contact).where(col(Contact.brand_id) == brand_id)
    if req.contact_id is not None:
        stmt = stmt.where(col(Contact.id) == req.contact_id)
    if req.email is not None:
        stmt = stmt.where(col(Contact.email) == req.email)
    # Locked: two events for one contact must not both enrol it.
    contact: Contact | None = session.execute(stmt.with_for_update()).scalar_one_or_none()
    if contact is None:
        who = req.email if req.email is not None else f"id {req.contact_id}"
        raise NotFound(f"The brand has no contact {who}", code="unknown_contact")
    return contact


def _pipelines(session: Session, brand_id: int, event: ProductEvent) -> dict[str, Pipeline]:
    slugs = {p.pipeline for p in PROGRESS[event]}
    rows = session.execute(
        select(Pipeline).where(col(Pipeline.brand_id) == brand_id, col(Pipeline.slug).in_(slugs))
    ).scalars()
    found = {p.slug: p for p in rows}
    if not found:
        raise Unprocessable(
            f"The brand has no pipeline that progresses on {event.value!r}",
            code="event_not_tracked",
            details=[ErrorDetail(field="event", problem="no pipeline of this brand uses it")],
        )
    return found


def _latest_deal(session: Session, contact_id: int, pipeline_id: int) -> Deal | None:
    """The contact's open deal in the pipeline, else its most recent closed one."""
    deals: list[Deal] = list(
        session.execute(
            select(Deal)
            .where(col(Deal.contact_id) == contact_id, col(Deal.pipeline_id) == pipeline_id)
            .order_by(col(Deal.id).desc())
        ).scalars()
    )
    open_deals = [d for d in deals if d.status in deal_service.OPEN_STATUSES]
    latest = open_deals or deals
    return latest[0] if latest else None


def _suppressed(session: Session, contact: Contact) -> str | None:
    reason = session.execute(
        select(col(Suppression.reason)).where(
            col(Suppression.brand_id) == contact.brand_id, col(Suppression.email) == contact.email
        )
    ).scalar_one_or_none()
    return None if reason is None else str(reason)


def plan(session: Session, req: ProductEventIn) -> Plan:
    """Finds the deals the event concerns and enrols where it enrols (flushed, not committed).
    The moves themselves need the workflows, after the commit: see `decide`."""
    brand_id = resolve_brand_id(session, str(req.brand))
    assert brand_id is not None
    contact = _contact(session, brand_id, req)
    assert contact.id is not None
    pipelines = _pipelines(session, brand_id, req.event)
    result = Plan(contact_id=contact.id)
    for progress in PROGRESS[req.event]:
        pipeline = pipelines.get(progress.pipeline)
        if pipeline is None or pipeline.id is None:
            continue
        stages = {s.id or 0: s for s in deal_service.stages_in_order(session, pipeline.id)}
        target = next((s for s in stages.values() if s.slug == progress.stage), None)
        outcome = EventOutcome(
            pipeline_id=pipeline.id, pipeline_slug=pipeline.slug, outcome="no_deal"
        )
        if target is None:
            outcome.outcome = "no_such_stage"
            outcome.detail = f"the pipeline has no stage {progress.stage!r}"
            result.done.append(outcome)
            continue
        deal = _latest_deal(session, contact.id, pipeline.id)
        if deal is not None and deal.status in deal_service.OPEN_STATUSES:
            result.moves.append(Move(deal, pipeline, target, stages))
            continue
        if deal is not None:
            outcome.outcome, outcome.deal_id = "deal_closed", deal.id
            outcome.detail = f"the deal is already {deal.status}"
        elif progress.enrols and (reason := _suppressed(session, contact)) is not None:
            outcome.outcome, outcome.detail = "suppressed", f"the address is suppressed ({reason})"
        elif progress.enrols:
            created = deal_service.create_deal(
                session,
                DealCreate(contact_id=contact.id, pipeline_id=pipeline.id, stage_id=target.id),
            )
            result.enrolled.append((created, pipeline, target))
            continue
        else:
            outcome.detail = "the contact has no deal in this pipeline"
        result.done.append(outcome)
    return _quiet(result)


def _quiet(result: Plan) -> Plan:
    """An event maps to several pipelines (a sign-up enrols one and moves another); that the
    contact has no deal in some of them is only worth saying when it has none in any."""
    found = result.moves or result.enrolled or any(d.outcome != "no_deal" for d in result.done)
    if found:
        result.done = [d for d in result.done if d.outcome != "no_deal"]
    else:
        result.done = result.done[:1]
    return result


def decide(move: Move, current_stage_id: int, status: str) -> EventOutcome | None:
    """What the event does to a deal the workflow says is at `current_stage_id`: None means
    move it; otherwise the reported no-op."""
    current = move.stages.get(current_stage_id)
    outcome = EventOutcome(
        pipeline_id=move.pipeline.id or 0,
        pipeline_slug=move.pipeline.slug,
        deal_id=move.deal.id,
        from_stage=None if current is None else current.name,
        to_stage=move.target.name,
        workflow_id=move.deal.workflow_id,
        outcome="deal_closed",
    )
    if status not in ("active", "paused"):
        outcome.detail = f"the deal is already {status}"
        outcome.to_stage = None
        return outcome
    if current is None or current.order < move.target.order:
        return None
    if current.id == move.target.id:
        outcome.outcome, outcome.detail = "already_at_stage", f"already at {current.name}"
    else:
        outcome.outcome = "stale_event"
        outcome.detail = f"ignored: already at {current.name}, past {move.target.name}"
    outcome.to_stage = None
    return outcome


def _moved(move: Move, *, from_stage: str, detail: str) -> EventOutcome:
    return EventOutcome(
        pipeline_id=move.pipeline.id or 0,
        pipeline_slug=move.pipeline.slug,
        outcome="moved",
        deal_id=move.deal.id,
        from_stage=from_stage,
        to_stage=move.target.name,
        workflow_id=move.deal.workflow_id,
        detail=detail,
    )


async def apply_moves(
    temporal: DealWorkflows | None, locks: DealLocks, moves: list[Move], *, reason: str
) -> list[EventOutcome]:
    """Asks each deal's workflow where the deal is, and moves it there if that is forward.
    Errors reaching a workflow are the API's (409 `no_workflow`, `deal_starting`, 503); a
    retry of the event is safe, deals already moved report `already_at_stage`."""
    results: list[EventOutcome] = []
    for move in moves:
        running = require_workflows(temporal)
        async with locks.hold(move.deal.id or 0):
            view = await running.state(move.deal)
            outcome = decide(move, view.stage_id, view.status)
            if outcome is None:
                # Forward only, checked by the workflow itself: another replica may have moved
                # the deal since the state was read.
                req = MoveStageRequest(
                    stage_id=move.target.id, reason=reason, actor="product_event", forward_only=True
                )
                try:
                    await running.move_stage(move.deal, req)
                    outcome = _moved(move, from_stage=view.stage, detail=reason)
                except DealpilotError as exc:
                    if exc.code not in _NOT_MOVED:
                        raise
                    outcome = _moved(move, from_stage=view.stage, detail=exc.message)
                    outcome.outcome, outcome.to_stage = _NOT_MOVED[exc.code], None
        results.append(outcome)
    return results


_NOT_MOVED: dict[str, Outcome] = {
    "already_at_stage": "already_at_stage",
    "stale_event": "stale_event",
    "deal_closed": "deal_closed",
}


class DealLocks:
    """One event at a time per deal within this process, so two events that race cannot
    undo each other's forward check (read the stage, then move)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, deal_id: int) -> AsyncIterator[None]:
        lock = self._locks.get(deal_id)
        if lock is None:
            lock = self._locks[deal_id] = asyncio.Lock()
        async with lock:
            yield
