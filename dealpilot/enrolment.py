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
    deal_id: int
    brand: str
    pipeline: str
    stage: str
    contact_email: str
    contact_name: str = ""


async def start_deal(
    client: Client, task_queue: str, deal: DealStart
) -> WorkflowHandle[DealWorkflow, object]:
    """Starts the deal's workflow; starting one that already runs is a no-op (safe to retry)."""
    who = deal.contact_name or deal.contact_email
    return await client.start_workflow(
        DealWorkflow.run,
        DealInput(deal_id=deal.deal_id),
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
