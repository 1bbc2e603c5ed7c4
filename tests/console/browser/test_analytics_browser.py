"""The analytics page in Chromium: open it, change the filters, see the figures and the
charts change, download a CSV."""

from __future__ import annotations

from playwright.async_api import expect
from sqlmodel import Session

from tests.analytics.history import build
from tests.console.browser.conftest import Live
from tests.console.helpers import ADMIN


async def test_filter_the_analytics_and_download_a_csv(live: Live) -> None:
    with Session(live.stack.engine, expire_on_commit=False) as s:
        h = build(s)
    await live.sign_in(ADMIN)
    page = live.page
    await page.get_by_role("link", name="Analytics").click()
    await expect(page.get_by_role("heading", name="Funnel")).to_be_visible()

    # March, every brand: both brands' emails (7 + 1).
    await page.get_by_label("From", exact=True).fill("2026-03-01")
    await page.get_by_label("To", exact=True).fill("2026-03-31")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("#emails-sent")).to_have_text("8")

    # One pipeline: Codeteki's Sales.
    await page.get_by_label("Pipeline", exact=True).select_option(str(h.sales.id))
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url(f"**pipeline={h.sales.id}**")
    await expect(page.locator("#emails-sent")).to_have_text("7")
    await expect(page.locator("#forecast")).to_have_text("212.50")
    funnel = page.get_by_role("img", name="Funnel of Sales")
    await expect(funnel).to_be_visible()
    assert await funnel.locator("rect").count() == 5
    tiers = page.get_by_role("img", name="Deals by engagement tier per pipeline")
    await expect(tiers).to_be_visible()
    await expect(
        page.get_by_role("img", name="Open, click and reply rates per day")
    ).to_be_visible()
    box = await funnel.bounding_box()
    assert box is not None
    assert box["width"] > 300
    await live.screenshot("analytics")

    # Only the second week of March: one deal created (d6), nothing sent.
    await page.get_by_label("From", exact=True).fill("2026-03-09")
    await page.get_by_label("To", exact=True).fill("2026-03-15")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("#emails-sent")).to_have_text("0")
    await expect(page.locator("#forecast")).to_have_text("12.50")

    async with page.expect_download() as waiting:
        await page.locator(
            'a.csv[href*="/console/analytics/funnel.csv"][href*="table=stages"]'
        ).click()
    download = await waiting.value
    assert download.suggested_filename == "funnel-stages-2026-03-09-2026-03-15.csv"
    path = await download.path()
    lines = path.read_text().splitlines()
    assert lines[0].startswith("brand,pipeline_id,pipeline,stage_id,stage,")
    assert [line.split(",")[4] + ":" + line.split(",")[7] for line in lines[1:]] == [
        "Invited:1",
        "Follow-up 1:0",
        "Responded:0",
        "Won:0",
        "Lost:0",
    ]
