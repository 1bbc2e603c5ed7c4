"""Tier bulk actions over REST (issue 14, item 11) with running deal workflows: the confirm acts
on exactly the previewed deals, through their workflows; a deal whose tier changed in between
is skipped and reported; a token that does not sign the ids is refused."""

from __future__ import annotations

from datetime import datetime, timedelta

from dealpilot.deals.tier_actions import REENGAGE_NOTE
from dealpilot.deals.tier_scan import scan_brand
from dealpilot.temporal.deals import DealWorkflows
from models import EmailLog, EmailStatus, session_scope
from models.uow import UnitsOfWork
from tests.api.helpers import assert_error
from tests.api_workflows.conftest import Api
from tests.workflows.helpers import record_open, sent_logs
from workflows.contracts import TierRefresh
from workflows.deal import DealWorkflow

HOUR = timedelta(hours=1)


async def _enrol(api: Api, email: str) -> int:
    contact_id = api.contact(email, brand="desifirms", name=email.split("@")[0].title())
    pipeline_id = api.pipeline_id("desifirms", "real_estate")
    r = await api.http.post(
        "/api/crm/deals/", json={"contact_id": contact_id, "pipeline_id": pipeline_id}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _earlier_email(api: Api, email: str, sent_at: datetime, *, opened: bool) -> None:
    """An email of an earlier campaign of the brand to `email` (tiers read the address's whole
    history in the brand)."""
    brand = api.stack.brand("desifirms")
    with session_scope(api.stack.engine) as s:
        log = EmailLog(
            idempotency_key=f"earlier-{email}-{sent_at.isoformat()}",
            brand_id=brand.id or 0,
            to_email=email,
            subject="earlier",
            status=EmailStatus.sent,
            sent_at=sent_at,
        )
        s.add(log)
        s.flush()
        s.expunge(log)
    if opened:
        record_open(api.stack.engine, log, at=sent_at + HOUR)


async def _scan(api: Api) -> None:
    """The daily engagement scan, as its activity runs it: rows written, workflows told."""
    workflows = DealWorkflows(api.stack.client)

    async def signal(deal_id: int, tier: str) -> bool:
        await workflows.signal(deal_id, DealWorkflow.tier_refreshed, TierRefresh(tier=tier))
        return True

    now = await api.stack.env.get_current_time()
    await scan_brand(UnitsOfWork(api.stack.engine), signal, "desifirms", now)


async def test_bulk_actions_touch_exactly_the_previewed_deals(api: Api) -> None:
    api.stack.open_window("desifirms")
    emails = ["lu1@realty.com.au", "lu2@realty.com.au", "gh@realty.com.au", "hot@realty.com.au"]
    lurker1, lurker2, ghost, hot = [await _enrol(api, e) for e in emails]
    await api.stack.env.sleep(HOUR)  # each first email goes at once (the entry stage waits 0)
    assert [len(api.stack.inbox.to(e)) for e in emails] == [1, 1, 1, 1]

    now = await api.stack.env.get_current_time()
    for email in emails[:2]:  # opened an email long ago, quiet since: lurkers
        _earlier_email(api, email, now - timedelta(days=40), opened=True)
    for days in (20, 10):  # three emails, none opened: a ghost
        _earlier_email(api, emails[2], now - timedelta(days=days), opened=False)
    record_open(api.stack.engine, sent_logs(api.stack.engine, hot)[0], at=now)  # hot
    await _scan(api)

    r = await api.http.get("/api/crm/tier-actions/reengage_lurkers/preview/")
    assert r.status_code == 200, r.text
    preview = r.json()
    assert (preview["count"], [d["deal_id"] for d in preview["deals"]]) == (2, [lurker1, lurker2])
    assert preview["deals"][0]["contact_email"] == emails[0]
    assert preview["deals"][0]["stage_name"] == "Invited"

    # Between preview and confirm, the second lurker opens today's email: hot now.
    record_open(api.stack.engine, sent_logs(api.stack.engine, lurker2)[0], at=now)
    await _scan(api)
    assert api.deal(lurker2).engagement_tier == "hot"

    ids = [d["deal_id"] for d in preview["deals"]]
    tampered = {"deal_ids": [*ids, ghost], "token": preview["token"]}
    r = await api.http.post("/api/crm/tier-actions/reengage_lurkers/confirm/", json=tampered)
    assert_error(r, 422, "preview_mismatch")
    other_action = {"deal_ids": ids, "token": preview["token"]}
    r = await api.http.post("/api/crm/tier-actions/priority_hot/confirm/", json=other_action)
    assert_error(r, 422, "preview_mismatch")

    r = await api.http.post(
        "/api/crm/tier-actions/reengage_lurkers/confirm/",
        json={"deal_ids": ids, "token": preview["token"]},
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert [(a["deal_id"], a["outcome"]) for a in result["acted"]] == [(lurker1, "sent")]
    assert [(s["deal_id"], s["reason"]) for s in result["skipped"]] == [(lurker2, "tier_changed")]
    second = api.stack.inbox.to(emails[0])[-1]
    assert "Rather than another reminder" in second.get_body(("plain",)).get_content()
    assert api.deal(lurker1).ai_notes == REENGAGE_NOTE
    assert [len(api.stack.inbox.to(e)) for e in emails] == [2, 1, 1, 1]

    r = await api.http.get("/api/crm/tier-actions/archive_ghosts/preview/")
    ghosts = r.json()
    assert [d["deal_id"] for d in ghosts["deals"]] == [ghost]
    r = await api.http.post(
        "/api/crm/tier-actions/archive_ghosts/confirm/",
        json={"deal_ids": [ghost], "token": ghosts["token"]},
    )
    assert r.status_code == 200, r.text
    assert [(a["deal_id"], a["outcome"]) for a in r.json()["acted"]] == [(ghost, "lost")]
    closed = api.deal(ghost)
    assert (closed.status, closed.lost_reason) == ("lost", "ghost")

    r = await api.http.get("/api/crm/tier-actions/priority_hot/preview/")
    hots = r.json()
    assert [d["deal_id"] for d in hots["deals"]] == [lurker2, hot]
    r = await api.http.post(
        "/api/crm/tier-actions/priority_hot/confirm/",
        json={"deal_ids": [lurker2, hot], "token": hots["token"]},
    )
    acted = {a["deal_id"]: a["outcome"] for a in r.json()["acted"]}
    assert sorted(acted) == [lurker2, hot]
    # Both are sent at once (8 at a time): the brand's send gap may defer one by a moment (the
    # answer says so, and the deal waits for it), which is send now's own rule.
    for deal_id, email in ((lurker2, emails[1]), (hot, emails[3])):
        if acted[deal_id] == "sent":
            assert len(api.stack.inbox.to(email)) == 2
        else:
            assert acted[deal_id] == "deferred"
            assert api.deal(deal_id).next_action_reason == "daily cap or send gap"
    assert "sent" in acted.values()
    # Exactly the previewed deals were touched: the ghost and the first lurker got nothing more.
    assert [len(api.stack.inbox.to(e)) for e in (emails[0], emails[2])] == [2, 1]
    assert "Rather than another reminder" not in (
        api.stack.inbox.to(emails[1])[-1].get_body(("plain",)).get_content()
    )
    r = await api.http.get("/api/crm/tier-actions/archive_ghosts/preview/")
    assert r.json()["count"] == 0
