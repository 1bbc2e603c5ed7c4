"""A tier bulk action in a real browser: preview "Archive all ghosts", see which deals, confirm,
and exactly the previewed deal is closed as lost (reason ghost) through its workflow."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import expect
from sqlmodel import Session

from dealpilot.deals.tier_scan import scan_brand
from dealpilot.temporal.deals import DealWorkflows
from models import Deal, EmailLog, EmailStatus, session_scope
from models.uow import UnitsOfWork
from tests.console.browser.conftest import Live
from tests.console.helpers import DESI_OPERATOR
from workflows.contracts import TierRefresh
from workflows.deal import DealWorkflow

HOUR = timedelta(hours=1)


async def _make_ghost(live: Live, email: str) -> None:
    """Two earlier unopened emails of the brand to `email`: with the deal's own, three (a
    ghost), found by the engagement scan as its schedule would."""
    now = await live.stack.env.get_current_time()
    brand = live.stack.brand("desifirms")
    with session_scope(live.stack.engine) as s:
        for days in (20, 10):
            s.add(
                EmailLog(
                    idempotency_key=f"earlier-{email}-{days}",
                    brand_id=brand.id or 0,
                    to_email=email,
                    subject="earlier",
                    status=EmailStatus.sent,
                    sent_at=now - timedelta(days=days),
                )
            )
    workflows = DealWorkflows(live.stack.client)

    async def signal(deal_id: int, tier: str) -> bool:
        await workflows.signal(deal_id, DealWorkflow.tier_refreshed, TierRefresh(tier=tier))
        return True

    await scan_brand(UnitsOfWork(live.stack.engine), signal, "desifirms", now)


async def test_preview_and_confirm_archive_all_ghosts(live: Live) -> None:
    live.stack.open_window("desifirms")
    ghost = await live.create_deal(
        "quiet@realty.com.au", brand="desifirms", pipeline="real_estate", name="Quiet Agent"
    )
    other = await live.create_deal(
        "fresh@realty.com.au", brand="desifirms", pipeline="real_estate", name="Fresh Agent"
    )
    await live.stack.env.sleep(HOUR)  # the first emails go
    await _make_ghost(live, "quiet@realty.com.au")

    await live.sign_in(DESI_OPERATOR)
    page = live.page
    await page.get_by_role("link", name="Tier actions").click()
    row = page.get_by_role("row", name="Archive all ghosts")
    await expect(row).to_contain_text("ghost")
    await row.get_by_role("link", name="Preview").click()
    await expect(page.get_by_role("heading", name="Archive all ghosts preview")).to_be_visible()
    await expect(page.locator("#tier-count")).to_contain_text("1 deal of the ghost tier")
    await expect(page.get_by_role("cell", name="Quiet Agent quiet@realty.com.au")).to_be_visible()
    await expect(page.get_by_text("fresh@realty.com.au")).to_have_count(0)
    await live.screenshot("tier-preview")
    await page.get_by_role("button", name="Confirm for these 1 deal").click()
    await expect(page.get_by_role("heading", name="Archive all ghosts done")).to_be_visible()
    done = page.get_by_role("table", name="Done (1)")
    await expect(done.get_by_role("row")).to_have_count(2)  # the header and the ghost
    await expect(done).to_contain_text("lost")
    await live.screenshot("tier-done")

    with Session(live.stack.engine) as s:
        closed, untouched = s.get(Deal, ghost), s.get(Deal, other)
        assert closed is not None
        assert untouched is not None
        assert (closed.status, closed.lost_reason) == ("lost", "ghost")
        assert untouched.status == "active"
