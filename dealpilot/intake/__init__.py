"""Inbound events (tracking, webhooks, polled inboxes): store first, then deliver to the deal.

    result = record(session, Inbound(...))   # no commit; the caller commits
    ...commit...
    await deliver(workflows, transact, deal_ids=result.deal_ids)   # best effort

Whatever `deliver` could not hand over (Temporal down) stays pending and the `Relay` running in
the API delivers it later, in order.
"""

from dealpilot.intake.delivery import DeliveryReport, count_pending, deliver
from dealpilot.intake.recording import (
    Inbound,
    RecordResult,
    content_key,
    match_log,
    normalise_message_id,
    record,
)
from dealpilot.intake.relay import Relay
from dealpilot.intake.service import store, store_and_deliver

__all__ = [
    "DeliveryReport",
    "Inbound",
    "RecordResult",
    "Relay",
    "content_key",
    "count_pending",
    "deliver",
    "match_log",
    "normalise_message_id",
    "record",
    "store",
    "store_and_deliver",
]
