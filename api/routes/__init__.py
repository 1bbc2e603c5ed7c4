"""One router per resource, all mounted under /api/crm: CRM_ROUTERS behind the API key,
PUBLIC_ROUTERS (tracking, unsubscribe, webhooks) checking their own signed tokens or
provider signatures."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    ab_tests,
    ai_activity,
    analytics,
    backlink_checks,
    backlink_import,
    backlinks,
    brands,
    composer,
    contact_import,
    contacts,
    daily,
    deal_actions,
    deals,
    deliverability,
    email_logs,
    events,
    forecast,
    leads,
    pipelines,
    product_events,
    prompts,
    review,
    sequences,
    stages,
    stats,
    suppressions,
    tier_actions,
    tracking,
    unsubscribe,
    webhooks,
)

CRM_ROUTERS: list[APIRouter] = [
    brands.router,
    deliverability.router,
    pipelines.router,
    stages.router,
    ab_tests.router,
    deals.router,
    deal_actions.router,
    contact_import.router,  # before contacts: /contacts/import/ is not a contact id
    contacts.router,
    sequences.router,
    tier_actions.router,
    email_logs.router,
    ai_activity.router,
    backlinks.router,
    backlink_import.router,
    backlink_checks.router,
    prompts.router,
    suppressions.router,
    daily.router,
    stats.router,
    forecast.router,
    analytics.router,
    events.router,
    leads.router,
    product_events.router,
    composer.router,
    review.router,
]

PUBLIC_ROUTERS: list[APIRouter] = [tracking.router, unsubscribe.router, webhooks.router]
