"""The Temporal worker: one list of workflows and activities, used by `dealpilot worker`,
`dealpilot dev` and the tests alike."""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.ai import AIActivities
from activities.backlinks import LinkCheckActivities
from activities.deals import DealActivities
from activities.inbox import InboxActivities
from activities.jobs import (
    DailyReviewActivities,
    EngagementScanActivities,
    ScheduledDraftsActivities,
)
from activities.review import ReviewQueueActivities
from activities.sending import SendActivities
from dealpilot.ai import AIEngine, build_engine
from dealpilot.ai.calls import AIDecisions
from dealpilot.backlinks import LinkChecks, limits_from
from dealpilot.core.settings import Settings
from dealpilot.deals.sending import Sender
from dealpilot.deals.store import DealStore
from dealpilot.inbox import (
    InboxPoller,
    SentLookup,
    build_sent_lookup,
    build_sources,
    zoho_accounts,
)
from dealpilot.mail import MailProvider, build_provider
from dealpilot.mail.zoho import ZohoProvider
from dealpilot.rendering.renderer import EmailRenderer
from dealpilot.reporting.daily import DailyReview
from dealpilot.review.holding import ReviewHolding
from dealpilot.tracking.tracker import Tracker
from models.uow import UnitsOfWork
from workflows.deal import DealWorkflow
from workflows.engagement_scan import EngagementScanWorkflow
from workflows.jobs import JOB_WORKFLOWS
from workflows.link_checks import LinkCheckWorkflow

log = structlog.get_logger(__name__)

WORKFLOWS: Sequence[type] = (
    DealWorkflow,
    *JOB_WORKFLOWS,
    EngagementScanWorkflow,
    LinkCheckWorkflow,
)

# Temporal's sandbox re-imports every non-passthrough module for each workflow it runs: our
# `workflows` package (and the enums it uses) cost about 0.4 MB and a re-import per deal held
# in the worker's cache (bench.sleeping: 500 cached deals took 494 MB of RSS, 285 MB passed
# through). They are deterministic by contract (import-linter: stdlib, temporalio and
# dealpilot.core only; tests/workflows/test_determinism.py: no clock, randomness or I/O) and
# keep no state between runs, so they are passed through; the sandbox still guards whatever
# else a workflow imports.
PASSED_THROUGH = ("workflows", "dealpilot.core.enums")
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
)


class ProviderRegistry:
    """One provider instance per (provider, brand), built on first use (they hold HTTP clients
    and tokens), with the brand's own mail account (BRAND_<SLUG>_*) over the deployment's."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._built: dict[tuple[str, str], MailProvider] = {}

    def __call__(self, name: str, brand: str = "") -> MailProvider:
        key = (name, brand if brand in self._settings.brand_mail else "")
        if key not in self._built:
            self._built[key] = build_provider(name, self._settings.for_brand(key[1]))
        return self._built[key]


def build_activities(
    *,
    settings: Settings,
    engine: Engine,
    providers: Callable[[str, str], MailProvider] | None = None,
    ai: AIEngine | None = None,
    sent_lookup: SentLookup | None = None,
) -> list[Callable[..., Any]]:
    """The thin activity objects around the domain services; each activity opens its own unit
    of work (`UnitsOfWork` for the domain steps that commit one by one)."""
    transact = UnitsOfWork(engine)
    ai_engine = ai or build_engine(settings)
    decisions = AIDecisions(transact, ai_engine, review_below=settings.ai_review_below)
    registry = providers or ProviderRegistry(settings)

    def zoho(brand: str) -> ZohoProvider:
        provider = registry("zoho", brand)  # the sender's instance: one token cache per process
        assert isinstance(provider, ZohoProvider)
        return provider

    poller = InboxPoller(
        transact,
        build_sources(settings, zoho=zoho),
        lookback=settings.inbox_lookback,
        batch=settings.inbox_batch,
    )
    daily_review = DailyReview(
        transact,
        ai_engine,
        stuck_after=timedelta(days=settings.stuck_deal_days),
        review_after=settings.draft_review_remind_after,
        score_limit=settings.daily_review_score_limit,
    )
    renderer = EmailRenderer()
    tracker = Tracker(settings.public_base_url, settings.tracking_secret.get_secret_value())
    sender = Sender(
        transact,
        renderer=renderer,
        providers=registry,
        ai=decisions,
        tracker=tracker,
        sent_lookup=sent_lookup or build_sent_lookup(settings, zoho_accounts(settings, zoho)),
    )
    holding = ReviewHolding(transact, renderer=renderer, ai=decisions, tracker=tracker)

    store = DealActivities(engine, DealStore())
    ai_calls = AIActivities(decisions)
    sending = SendActivities(sender)
    review_queue = ReviewQueueActivities(engine, holding)
    inbox = InboxActivities(transact, poller)
    review = DailyReviewActivities(engine, daily_review)
    drafts = ScheduledDraftsActivities(transact)
    tier_scan = EngagementScanActivities(transact)
    link_checks = LinkCheckActivities(LinkChecks(transact, limits_from(settings)))
    return [
        store.load_deal_context,
        store.engagement_profile,
        store.sync_deal,
        store.record_decision,
        store.suppress_contact,
        store.draft_reply,
        ai_calls.analyze_deal,
        ai_calls.classify_reply,
        ai_calls.compose_email,
        ai_calls.score_lead,
        ai_calls.generate_backlink_pitch,
        ai_calls.smart_salutation,
        sending.send_stage_email,
        review_queue.hold_email_for_review,
        review_queue.settle_review_draft,
        inbox.poll_inbox,
        review.brand_is_active,
        review.rescore_new_contacts,
        review.flag_stuck_deals,
        review.drafts_waiting_review,
        review.write_daily_summary,
        drafts.release_due_drafts,
        tier_scan.refresh_engagement_tiers,
        link_checks.link_check_candidates,
        link_checks.verify_links,
    ]


def build_worker(
    client: Client,
    *,
    settings: Settings,
    engine: Engine,
    providers: Callable[[str, str], MailProvider] | None = None,
    ai: AIEngine | None = None,
    task_queue: str | None = None,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=list(WORKFLOWS),
        workflow_runner=WORKFLOW_RUNNER,
        max_cached_workflows=settings.worker_workflow_cache,  # bounds the worker's memory
        activities=build_activities(settings=settings, engine=engine, providers=providers, ai=ai),
        # One slot per database connection the pool can give (`worker_engine`): an activity
        # never waits inside its attempt for a connection, and never times out for want of one.
        max_concurrent_activities=settings.worker_concurrency,
        activity_executor=concurrent.futures.ThreadPoolExecutor(
            max_workers=settings.worker_concurrency
        ),
        # A deal's next workflow task waits this long for the worker that ran its last one (and
        # holds its history in memory) before any worker may take it and replay the history: a
        # dead worker costs its deals this, while a shorter wait makes a busy worker's deals
        # time out and replay under load (3 s did, at 200 deals starting at once).
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=10),
    )


async def run_worker(settings: Settings) -> None:
    from dealpilot.core import metrics
    from dealpilot.core.heap import freeze_startup_heap
    from dealpilot.setup.database import prepare_database
    from dealpilot.temporal.connection import connect_temporal, schedule_jobs, temporal_runtime
    from dealpilot.temporal.schedules import active_brand_clocks
    from models import session_scope

    engine = prepare_database(settings, seed=False)
    from dealpilot.setup.readiness import provider_warnings, require_production_ready

    with session_scope(engine) as session:
        for brand, warning in provider_warnings(session):
            log.warning("mail.provider_lacks_headers", brand=brand, warning=warning)
        if settings.environment == "production":
            require_production_ready(session)
    client = await connect_temporal(settings, runtime=temporal_runtime(settings))
    with session_scope(engine) as session:
        brands = active_brand_clocks(session)
    await schedule_jobs(client, settings, brands)
    worker = build_worker(client, settings=settings, engine=engine)
    metrics.configure_prices(settings.ai_prices)
    freeze_startup_heap()
    # Served once the worker can run, so the port answering is the container's health check.
    server = (
        metrics.serve(settings.metrics_host, settings.worker_metrics_port)
        if settings.worker_metrics_port
        else None
    )
    log.info(
        "worker.started",
        task_queue=settings.temporal_task_queue,
        metrics_port=settings.worker_metrics_port or None,
        temporal_metrics_port=settings.temporal_metrics_port or None,
    )
    # SIGTERM (docker stop, scaling down) stops polling and lets the worker shut down cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with worker:
            await stop.wait()
    finally:
        if server is not None:
            server.shutdown()
        log.info("worker.stopped")


if __name__ == "__main__":
    from dealpilot.core.logging import configure_logging
    from dealpilot.core.settings import get_settings

    configure_logging(get_settings())
    asyncio.run(run_worker(get_settings()))
