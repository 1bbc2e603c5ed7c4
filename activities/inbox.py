"""The inbox poll activity: a thin wrapper over `InboxPoller`, over the mailboxes configured at
worker start."""

from __future__ import annotations

from temporalio import activity

from activities._errors import maps_errors
from dealpilot.inbox import InboxPoller
from dealpilot.intake import DeliveryReport, deliver
from dealpilot.temporal.deals import DealWorkflows
from models.uow import Transact
from workflows.jobs import PollReport, PollRequest


class InboxActivities:
    def __init__(self, transact: Transact, poller: InboxPoller) -> None:
        self._transact = transact
        self._poller = poller

    @activity.defn(name="poll_inbox")
    @maps_errors  # beats itself, with its checkpoint as details
    async def poll_inbox(self, req: PollRequest) -> PollReport:
        workflows = DealWorkflows(activity.client())

        async def deliver_events() -> DeliveryReport:
            return await deliver(workflows, self._transact)

        return await self._poller.poll(
            now=req.now, deliver=deliver_events, heartbeat=activity.heartbeat
        )
