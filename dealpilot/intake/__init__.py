"""Inbound events (tracking, webhooks, polled inboxes): store first, then deliver to the deal.

    await receive_and_relay(receiver, relay, [Inbound(...)])   # the hot endpoints: one insert
    result = record(session, Inbound(...))   # no commit; the caller commits
    ...commit...
    relay.wake(result.deal_ids)   # the endpoints: `store_and_relay`, then answer
    await deliver(workflows, transact, deal_ids=result.deal_ids)   # or deliver now (activities)

The `Relay` running in the API delivers what its endpoints stored, after they answered, and
whatever else is pending (Temporal was down), in order.
"""

from dealpilot.intake.delivery import DeliveryReport, count_pending, deliver
from dealpilot.intake.receiving import Receiver
from dealpilot.intake.recording import (
    Inbound,
    RecordResult,
    content_key,
    match_log,
    normalise_message_id,
    record,
)
from dealpilot.intake.relay import Relay
from dealpilot.intake.service import accept, receive_and_relay, store, store_and_relay

__all__ = [
    "accept",
    "DeliveryReport",
    "Inbound",
    "Receiver",
    "RecordResult",
    "Relay",
    "content_key",
    "count_pending",
    "deliver",
    "match_log",
    "normalise_message_id",
    "receive_and_relay",
    "record",
    "store",
    "store_and_relay",
]
