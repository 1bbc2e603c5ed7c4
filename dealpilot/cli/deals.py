"""`dealpilot deal show|list`: a deal's state and timeline, and visibility searches, printed
for a terminal. The queries are `DealWorkflows`'."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from dealpilot.core.settings import Settings


async def show_deal(settings: Settings, deal_id: int) -> dict[str, Any]:
    from dealpilot.cli.support import connect_workflows

    workflows = await connect_workflows(settings)
    state, timeline = await workflows.state_and_timeline(deal_id)
    return {"state": asdict(state), "timeline": [asdict(e) for e in timeline]}


async def list_deals(settings: Settings, **filters: Any) -> list[dict[str, Any]]:
    from dealpilot.cli.support import connect_workflows

    workflows = await connect_workflows(settings)
    return await workflows.search(**filters)


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
