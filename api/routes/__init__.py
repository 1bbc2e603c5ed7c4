"""One router per resource, all mounted under /api/crm behind the API key."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    ai_activity,
    backlinks,
    brands,
    contacts,
    deal_actions,
    deals,
    email_logs,
    pipelines,
    prompts,
    sequences,
    stages,
    stats,
    suppressions,
)

CRM_ROUTERS: list[APIRouter] = [
    brands.router,
    pipelines.router,
    stages.router,
    deals.router,
    deal_actions.router,
    contacts.router,
    sequences.router,
    email_logs.router,
    ai_activity.router,
    backlinks.router,
    prompts.router,
    suppressions.router,
    stats.router,
]
