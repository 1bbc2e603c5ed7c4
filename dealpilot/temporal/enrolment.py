"""Starting deal workflows: after the deal's row is committed, never before."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)

from workflows import search_attributes as sa
from workflows.deal import DealWorkflow
from workflows.deal_memory import DealInput


def workflow_id(deal_id: int) -> str:
    return f"deal-{deal_id}"


@dataclass(frozen=True)
class DealStart:
    """What starting a deal's workflow needs; the deal's rows are already committed.

    `draft_id` (composer): an EmailDraft of the deal's brand whose `subject` and `body` are
    sent as the deal's first email instead of the first stage email, at once (no AI "wait"
    decision; still inside the brand's send window, daily cap, gap and suppression), and
    never held for human review (a person wrote it). Subject and body are sandboxed template
    strings rendered for the deal's contact (`{{ contact.first_name }}`, `{{ brand.name }}`
    ... as in stage templates). A body that is not a whole HTML document is the message text:
    it goes into the brand layout, which adds the greeting, sign-off and unsubscribe footer.
    The draft row is only read (its status is the composer's business, but a `rejected` draft
    is never sent). Follow-ups afterwards are the pipeline's normal stage emails.
    """

    deal_id: int
    brand: str
    pipeline: str
    stage: str
    contact_email: str
    contact_name: str = ""
    draft_id: int | None = None


async def start_deal(
    client: Client, task_queue: str, deal: DealStart
) -> WorkflowHandle[DealWorkflow, object]:
    """Starts the deal's workflow; starting one that already runs is a no-op (safe to retry)."""
    who = deal.contact_name or deal.contact_email
    return await client.start_workflow(
        DealWorkflow.run,
        DealInput(deal_id=deal.deal_id, draft_id=deal.draft_id),
        id=workflow_id(deal.deal_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.BRAND, deal.brand),
                SearchAttributePair(sa.PIPELINE, deal.pipeline),
                SearchAttributePair(sa.DEAL_STAGE, deal.stage),
                SearchAttributePair(sa.DEAL_STATUS, "active"),
                SearchAttributePair(sa.CONTACT_EMAIL, deal.contact_email),
                SearchAttributePair(sa.ENGAGEMENT_TIER, "new"),
            ]
        ),
        static_summary=f"{who} · {deal.brand} · {deal.pipeline}",
        static_details=(
            f"Deal {deal.deal_id}: {deal.contact_email} enrolled in {deal.pipeline} "
            f"({deal.brand}) at {deal.stage}. The autopilot sends the sequence, waits for "
            "replies, and stops on reply, unsubscribe or bounce."
        ),
    )
