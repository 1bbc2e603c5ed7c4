"""The console in a real browser: sign in, drag a card, approve a draft, brand isolation.
Each main page is saved as a screenshot (see conftest)."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.async_api import expect
from sqlmodel import Session, col, select

from models import Deal, DraftKind, EmailDraft, Pipeline, PipelineStage
from tests.console.browser.conftest import Live
from tests.console.helpers import ADMIN, DESI_OPERATOR

HOUR = timedelta(hours=1)


async def _enrol(live: Live, email: str, *, name: str = "") -> int:
    return await live.create_deal(email, brand="desifirms", pipeline="real_estate", name=name)


def _pipeline_id(live: Live, deal_id: int) -> int:
    with Session(live.stack.engine) as s:
        deal = s.get(Deal, deal_id)
        assert deal is not None
        return deal.pipeline_id


async def test_sign_in_see_today_and_sign_out(live: Live) -> None:
    page = live.page
    await page.goto(f"{live.url}/console/board")
    await expect(page.get_by_role("heading", name="Sign in to dealpilot")).to_be_visible()
    await page.get_by_label("Email").fill(ADMIN)
    await page.get_by_label("Password").fill("wrong-password-here")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("not right")
    await live.sign_in(ADMIN)
    await expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    for section in ("The day so far", "Sending"):  # each brand's figures, and its sending
        region = page.get_by_role("region", name=section)
        await expect(region.get_by_role("rowheader", name="Codeteki")).to_be_visible()
    await live.screenshot("today")
    # A phone-sized screen: nothing wider than the screen on Today and the board.
    await page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/console/", "/console/board"):
        await page.goto(f"{live.url}{path}")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    await live.screenshot("today-phone")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You are signed out.")).to_be_visible()


async def test_drag_a_card_to_another_stage(live: Live) -> None:
    live.stack.open_window("desifirms")
    deal_id = await _enrol(live, "priya@sharma-realty.com.au", name="Priya Sharma")
    await live.sign_in(DESI_OPERATOR)
    page = live.page
    await page.goto(f"{live.url}/console/board?pipeline={_pipeline_id(live, deal_id)}")
    card = page.locator(f'[data-deal="{deal_id}"]')
    await expect(card).to_be_visible()
    target = page.locator("section.column", has=page.get_by_role("heading", name="Responded"))
    await card.drag_to(target)
    await expect(page.locator("#messages")).to_contain_text(f"Deal {deal_id} moved to Responded")
    await expect(target.locator(f'[data-deal="{deal_id}"]')).to_be_visible()
    state = await live.api_get(f"/api/crm/deals/{deal_id}/state/")  # the workflow's query
    assert state["stage"] == "Responded"
    await live.screenshot("board")

    # The workflow's refusal is shown and the card stays: a lost deal cannot move.
    await page.goto(f"{live.url}/console/deals/{deal_id}")
    await expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    await live.screenshot("deal")
    await page.get_by_label("Lost because").fill("went with a competitor")
    await page.get_by_role("button", name="Mark lost").click()
    await expect(page.locator("#messages")).to_contain_text("marked lost")
    await page.goto(f"{live.url}/console/board?pipeline={_pipeline_id(live, deal_id)}&status=all")
    card = page.locator(f'[data-deal="{deal_id}"]')
    invited = page.locator("section.column", has=page.get_by_role("heading", name="Invited"))
    await card.drag_to(invited)
    await expect(page.locator("#messages .error")).to_contain_text("Not done:")


async def test_approve_a_review_draft_and_the_email_goes_out(live: Live) -> None:
    live.stack.open_window("desifirms", human_review=True)
    deal_id = await _enrol(live, "raj@kumar-realty.com.au", name="Raj Kumar")
    await live.stack.env.sleep(HOUR)
    assert live.stack.inbox.messages == []
    with Session(live.stack.engine) as s:
        draft = s.exec(select(EmailDraft).where(EmailDraft.kind == DraftKind.review)).one()
    await live.sign_in(DESI_OPERATOR)
    page = live.page
    await expect(page.locator(f'[data-draft="{draft.id}"]')).to_contain_text(draft.subject)
    # The review queue, by keyboard: j to the first draft, a to approve it.
    await page.get_by_role("link", name="Review queue").click()
    await expect(page.locator(f'.review-item[data-draft="{draft.id}"]')).to_be_visible()
    await live.screenshot("review")
    await page.keyboard.press("j")
    await page.keyboard.press("a")
    await expect(page.locator("#messages")).to_contain_text(f"Draft {draft.id} approved")
    (message,) = live.stack.inbox.to("raj@kumar-realty.com.au")
    assert message["Subject"] == draft.subject
    await page.goto(f"{live.url}/console/deals/{deal_id}")
    await expect(page.get_by_role("heading", name="Emails")).to_be_visible()
    await expect(page.get_by_text(draft.subject).first).to_be_visible()


async def test_a_desi_firms_operator_cannot_open_a_codeteki_deal(live: Live) -> None:
    deal_id = live.stack.create_deal("cto@client.com.au", brand="codeteki", pipeline="sales")
    await live.sign_in(DESI_OPERATOR)
    response = await live.page.goto(f"{live.url}/console/deals/{deal_id.deal_id}")
    assert response is not None
    assert response.status == 404
    await expect(live.page.get_by_role("heading", name="Not found")).to_be_visible()


async def test_compose_and_send_to_two_contacts(live: Live) -> None:
    live.stack.open_window("desifirms")
    await live.sign_in(DESI_OPERATOR)
    page = live.page
    await page.get_by_role("link", name="Composer").click()
    await page.get_by_label("Brand and pipeline").select_option("desifirms/real_estate")
    await page.get_by_label("And pasted addresses").fill(
        "meera@patel-homes.com.au, dev@shah-realty.com.au"
    )
    await page.get_by_label("What the AI should write about").fill("free listings this month")
    await page.get_by_role("button", name="Draft it").click()
    await expect(page.locator("#messages")).to_contain_text("is ready")
    await expect(page.locator("#preview-subject")).not_to_be_empty()
    await live.screenshot("composer")
    await page.get_by_role("button", name="Send now to 2 recipients").click()
    await expect(page.locator("#messages")).to_contain_text("Sent: 2 deals started")
    await live.stack.env.sleep(HOUR)
    assert len(live.stack.inbox.to("meera@patel-homes.com.au")) == 1
    assert len(live.stack.inbox.to("dev@shah-realty.com.au")) == 1


async def test_import_a_csv_and_see_progress_reach_the_end(live: Live, tmp_path) -> None:
    rows = "".join(f"agent{i}@realty{i}.com.au,Agent {i}\n" for i in range(300))
    csv_file = tmp_path / "agents.csv"
    csv_file.write_text("Email,Name\n" + rows)
    await live.sign_in(DESI_OPERATOR)
    page = live.page
    await page.get_by_role("link", name="Import").click()
    await page.get_by_label("CSV file").set_input_files(str(csv_file))
    await page.get_by_label("Brand").select_option("desifirms")
    await page.get_by_role("button", name="Import").click()
    await expect(page.locator("#import-status")).to_have_text("Done.", timeout=30_000)
    await expect(page.locator("#import-counts")).to_contain_text("created: 300")
    bar = page.locator("#bar")
    assert await bar.get_attribute("value") == await bar.get_attribute("max")
    await expect(page.get_by_role("link", name="Download the per-row report")).to_be_visible()
    await live.screenshot("import")


async def test_backlinks_enrolled_and_a_stage_template_previewed_live(live: Live) -> None:
    """Paste an opportunity, enrol it (its deal's workflow starts); then edit a stage's
    template and watch the preview follow the typing, a mistake shown as it is typed."""
    live.stack.open_window("desifirms")
    await live.sign_in(ADMIN)
    page = live.page
    await page.get_by_role("link", name="Backlinks").click()
    await page.get_by_label("Brand of these pages").select_option("desifirms")
    await page.get_by_label("Page URLs").fill("https://realty-news.example.org/top-agents")
    await page.get_by_role("button", name="Add these pages").click()
    await expect(page.locator("#messages")).to_contain_text("1 created")
    await page.get_by_label("Select realty-news.example.org").check()
    await page.get_by_label("Site owner's address").fill("editor@realty-news.example.org")
    await page.get_by_role("button", name="Enrol in the backlink pipeline").click()
    await expect(page.locator("#messages")).to_contain_text("Enrolled 1 (1 workflows started)")
    await expect(page.get_by_role("link", name=re.compile(r"^deal \d+$"))).to_be_visible()
    await live.screenshot("backlinks")
    await page.set_viewport_size({"width": 390, "height": 844})
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    await page.set_viewport_size({"width": 1400, "height": 1000})
    with Session(live.stack.engine) as s:
        stage = s.exec(
            select(PipelineStage)
            .join(Pipeline, col(Pipeline.id) == col(PipelineStage.pipeline_id))
            .where(Pipeline.slug == "real_estate", col(PipelineStage.template_key).is_not(None))
            .order_by(col(PipelineStage.order))
        ).first()
        assert stage is not None
    await page.goto(f"{live.url}/console/settings/stages/{stage.id}")
    editor = page.get_by_label("HTML template")
    await editor.fill(
        '{% extends "desifirms/_layout.html" %}{% block body %}'
        "<p>Typed just now for {{ contact.first_name }}</p>{% endblock %}"
    )
    await expect(page.locator("#preview-text")).to_contain_text("Typed just now for")
    await editor.press_sequentially("{{ oops")
    await expect(page.locator("#preview-problem")).to_contain_text("not a valid template")
    await live.screenshot("stage-template")
