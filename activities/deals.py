"""The deal workflow's database activities: thin wrappers over `DealStore`, one unit of work
each (sync: they run in the worker's thread pool)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from temporalio import activity

from activities._clock import activity_now
from activities._errors import maps_errors
from dealpilot.deals.store import DealStore
from models import session_scope
from workflows.contracts import (
    DealContext,
    DealSnapshot,
    DecisionRecord,
    DraftReplyRequest,
    Engagement,
    SuppressRequest,
)


class DealActivities:
    def __init__(self, engine: Engine, store: DealStore) -> None:
        self._engine = engine
        self._store = store

    @activity.defn(name="load_deal_context")
    @maps_errors
    def load_deal_context(self, deal_id: int) -> DealContext:
        with session_scope(self._engine) as session:
            return self._store.load_deal_context(session, deal_id)

    @activity.defn(name="engagement_profile")
    @maps_errors
    def engagement_profile(self, deal_id: int, at: datetime | None = None) -> Engagement:
        """`at`: the workflow's clock (a local activity's attempt clock is the worker's)."""
        with session_scope(self._engine) as session:
            return self._store.engagement_profile(session, deal_id, at or activity_now())

    @activity.defn(name="sync_deal")
    @maps_errors
    def sync_deal(self, snap: DealSnapshot) -> None:
        with session_scope(self._engine) as session:
            self._store.sync_deal(session, snap)

    @activity.defn(name="record_decision")
    @maps_errors
    def record_decision(self, record: DecisionRecord) -> None:
        with session_scope(self._engine) as session:
            self._store.record_decision(session, record)

    @activity.defn(name="suppress_contact")
    @maps_errors
    def suppress_contact(self, req: SuppressRequest) -> None:
        with session_scope(self._engine) as session:
            self._store.suppress_contact(session, req)

    @activity.defn(name="draft_reply")
    @maps_errors
    def draft_reply(self, req: DraftReplyRequest) -> int:
        with session_scope(self._engine) as session:
            return self._store.draft_reply(session, req)
