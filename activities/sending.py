"""The send activity: a thin wrapper over `Sender`, which commits the ledger in its own steps
(see dealpilot/deals/sending.py) through the units of work this module's caller hands it."""

from __future__ import annotations

from temporalio import activity

from activities._clock import activity_now
from activities._liveness import activity_body
from dealpilot.deals.sending import Sender
from workflows.contracts import SendOutcome, SendRequest


class SendActivities:
    def __init__(self, sender: Sender) -> None:
        self._sender = sender

    @activity.defn(name="send_stage_email")
    @activity_body
    async def send_stage_email(self, req: SendRequest) -> SendOutcome:
        return await self._sender.send(req, now=activity_now())
