"""The review-queue activities (human review mode): thin wrappers over `ReviewHolding`."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from activities._clock import activity_now
from activities._errors import maps_errors
from activities._liveness import activity_body
from dealpilot.review.holding import ReviewHolding
from models import session_scope
from workflows.contracts import ReviewHold, ReviewSettlement, SendRequest


class ReviewQueueActivities:
    def __init__(self, engine: Engine, holding: ReviewHolding) -> None:
        self._engine = engine
        self._holding = holding

    @activity.defn(name="hold_email_for_review")
    @activity_body
    async def hold_email_for_review(self, req: SendRequest) -> ReviewHold:
        return await self._holding.hold(req, now=activity_now())

    @activity.defn(name="settle_review_draft")
    @maps_errors
    def settle_review_draft(self, req: ReviewSettlement) -> None:
        with session_scope(self._engine) as session:
            self._holding.settle(session, req, now=activity_now())
