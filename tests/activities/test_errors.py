"""The activities' one error mapping: our errors become ApplicationErrors typed by class name
(the names the workflows' retry policies use), retryable or not by the class; anything else is
left for Temporal to retry as usual."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities._errors import maps_errors, to_application_error
from activities.deals import DealActivities
from dealpilot.ai import AINonRetryableError, AIRetryableError
from dealpilot.core.errors import Conflict, ServiceUnavailable
from dealpilot.core.settings import Settings
from dealpilot.deals.store import DealStore, InvalidDeal
from dealpilot.mail import OutcomeUnknownMailError, PermanentMailError, TransientMailError
from worker import build_activities


@pytest.mark.parametrize(
    ("exc", "type_", "non_retryable"),
    [
        (InvalidDeal("deal 7 does not exist"), "InvalidDeal", True),
        (Conflict("taken"), "Conflict", True),
        (ServiceUnavailable("down"), "ServiceUnavailable", False),
        (AINonRetryableError("bad key", upstream_status=401), "AINonRetryableError", True),
        (AIRetryableError("slow", upstream_status=503), "AIRetryableError", False),
        (
            PermanentMailError("no", code="invalid_address", provider="smtp"),
            "PermanentMailError",
            True,
        ),
        (TransientMailError("later", code="timeout", provider="smtp"), "TransientMailError", False),
        (
            OutcomeUnknownMailError("?", code="no_answer", provider="zoho"),
            "OutcomeUnknownMailError",
            False,
        ),
    ],
)
def test_our_errors_map_by_class(exc: Exception, type_: str, non_retryable: bool) -> None:
    mapped = to_application_error(exc)
    assert mapped is not None
    assert (mapped.message, mapped.type, mapped.non_retryable) == (str(exc), type_, non_retryable)


def test_ai_errors_carry_the_upstream_status() -> None:
    mapped = to_application_error(AIRetryableError("rate limited", upstream_status=429))
    assert mapped is not None
    assert mapped.details == ({"status_code": 429},)


def test_other_errors_are_left_to_temporal() -> None:
    assert to_application_error(RuntimeError("bug")) is None


@activity.defn(name="sync_probe")
@maps_errors
def sync_probe(code: str) -> str:
    raise Conflict(f"sync {code}")


@activity.defn(name="async_probe")
@maps_errors
async def async_probe(code: str) -> str:
    raise ServiceUnavailable(f"async {code}")


async def test_decorated_activities_raise_application_errors() -> None:
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as sync_info:
        env.run(sync_probe, "x")
    assert (sync_info.value.type, sync_info.value.non_retryable) == ("Conflict", True)
    with pytest.raises(ApplicationError) as async_info:
        await env.run(async_probe, "y")
    assert (async_info.value.type, async_info.value.non_retryable) == ("ServiceUnavailable", False)
    assert isinstance(async_info.value.__cause__, ServiceUnavailable)


def test_missing_deal_is_a_non_retryable_invalid_deal(sqlite_engine: Engine) -> None:
    activities = DealActivities(sqlite_engine, DealStore())
    with pytest.raises(ApplicationError) as info:
        ActivityEnvironment().run(activities.load_deal_context, 987654)
    assert (info.value.type, info.value.non_retryable) == ("InvalidDeal", True)
    assert info.value.message == "deal 987654 does not exist"


def test_worker_registers_the_same_activity_names(sqlite_engine: Engine, tmp_path: Path) -> None:
    settings = Settings(DEALPILOT_ENV="test", DEALPILOT_DATA_DIR=tmp_path)
    defined = [
        activity._Definition.must_from_callable(a)
        for a in build_activities(settings=settings, engine=sqlite_engine)
    ]
    assert sorted(d.name for d in defined if d.name) == sorted(
        [
            "load_deal_context",
            "engagement_profile",
            "sync_deal",
            "record_decision",
            "suppress_contact",
            "draft_reply",
            "analyze_deal",
            "classify_reply",
            "compose_email",
            "score_lead",
            "generate_backlink_pitch",
            "smart_salutation",
            "send_stage_email",
            "hold_email_for_review",
            "settle_review_draft",
            "poll_inbox",
            "brand_is_active",
            "rescore_new_contacts",
            "flag_stuck_deals",
            "drafts_waiting_review",
            "write_daily_summary",
            "release_due_drafts",
            "link_check_candidates",
            "refresh_engagement_tiers",
            "verify_links",
        ]
    )
    # The wrapper keeps what Temporal reads from the function: async or not, argument types.
    by_name = {d.name: d for d in defined}
    assert by_name["send_stage_email"].is_async
    assert not by_name["sync_deal"].is_async
    assert by_name["compose_email"].arg_types is not None
