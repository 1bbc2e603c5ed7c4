"""Ops from scripts: a deal's state and timeline, and visibility searches, over Temporal."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from dealpilot.core.settings import Settings
from dealpilot.temporal.connection import connect_temporal
from dealpilot.temporal.enrolment import workflow_id
from workflows import search_attributes as sa
from workflows.deal import DealWorkflow


async def show_deal(settings: Settings, deal_id: int) -> dict[str, Any]:
    client = await connect_temporal(settings)
    handle = client.get_workflow_handle_for(DealWorkflow.run, workflow_id(deal_id))
    state = await handle.query(DealWorkflow.state)
    timeline = await handle.query(DealWorkflow.timeline)
    return {"state": asdict(state), "timeline": [asdict(e) for e in timeline]}


def format_deal(data: dict[str, Any]) -> str:
    s = data["state"]
    nxt = s["next_action_at"]
    lines = [
        f"Deal {s['deal_id']}  {s['contact_email']}  ({s['brand']} / {s['pipeline']})",
        f"  stage   {s['stage']}   status {s['status']}   tier {s['tier']}",
        f"  next    {s['next_action_reason']}" + (f" at {nxt:%Y-%m-%d %H:%M} UTC" if nxt else ""),
        f"  emails  sent {s['emails_sent']}  opens {s['opens']}  clicks {s['clicks']}  "
        f"replies {s['replies']}",
        f"  last decision: {s['last_decision'] or '-'}",
        "",
        "Timeline:",
    ]
    lines += [f"  {e['at']:%Y-%m-%d %H:%M}  {e['kind']:<8} {e['text']}" for e in data["timeline"]]
    return "\n".join(lines)


def visibility_query(
    *, stage: str | None, tier: str | None, brand: str | None, status: str | None
) -> str:
    clauses = ["WorkflowType = 'DealWorkflow'"]
    for key, value in (
        (sa.DEAL_STAGE, stage),
        (sa.ENGAGEMENT_TIER, tier),
        (sa.BRAND, brand),
        (sa.DEAL_STATUS, status),
    ):
        if value is not None:
            escaped = value.replace("\\", "\\\\").replace("'", "\\'")
            clauses.append(f"{key.name} = '{escaped}'")
    return " AND ".join(clauses)


async def list_deals(
    settings: Settings,
    *,
    stage: str | None = None,
    tier: str | None = None,
    brand: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    client = await connect_temporal(settings)
    query = visibility_query(stage=stage, tier=tier, brand=brand, status=status)
    rows: list[dict[str, Any]] = []
    async for wf in client.list_workflows(query, limit=limit):
        attrs = wf.typed_search_attributes
        rows.append(
            {
                "workflow_id": wf.id,
                "status": attrs.get(sa.DEAL_STATUS),
                "stage": attrs.get(sa.DEAL_STAGE),
                "tier": attrs.get(sa.ENGAGEMENT_TIER),
                "brand": attrs.get(sa.BRAND),
                "pipeline": attrs.get(sa.PIPELINE),
                "contact": attrs.get(sa.CONTACT_EMAIL),
                "next_action_at": attrs.get(sa.NEXT_ACTION_AT),
            }
        )
    return rows


def format_deal_rows(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no deals match"
    header = f"{'workflow':<12} {'brand':<10} {'stage':<22} {'status':<7} {'tier':<8} contact"
    body = [
        f"{r['workflow_id']:<12} {r['brand'] or '':<10} {r['stage'] or '':<22} "
        f"{r['status'] or '':<7} {r['tier'] or '':<8} {r['contact'] or ''}"
        for r in rows
    ]
    return "\n".join([header, *body])
