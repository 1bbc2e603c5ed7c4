"""Who opened the email, as the tracking pixel sees it (issue 11, item 1).

Gmail and Yahoo fetch images through their proxies when a person opens the email: those are
opens. Apple Mail Privacy Protection fetches them on arrival: machine opens, shown per email,
never engagement, and no reason to call the recipient a ghost. Scanners stay bots.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from dealpilot.intake.bots import is_machine_open, looks_automated
from dealpilot.tracking.tracker import Tracker
from tests.intake.conftest import Intake
from tests.workflows.helpers import sent_logs
from workflows.deal import DealWorkflow

GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
YAHOO = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
APPLE_MPP = "Mozilla/5.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel link scanner)"
DAY = timedelta(days=1)
TRACKER = Tracker("https://crm.example.test", "test-tracking-secret")


def test_user_agents() -> None:
    assert not looks_automated(GMAIL)
    assert not looks_automated(YAHOO)
    assert looks_automated(APPLE_MPP)
    assert is_machine_open(APPLE_MPP)
    assert looks_automated(SCANNER)
    assert not is_machine_open(SCANNER)
    assert not is_machine_open("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)")


async def _open_every_email(intake: Intake, email: str, agent: str, waits: list[int]) -> int:
    """Enrols a Desi Firms real-estate deal (four emails, waits 3, 4, 5 days), fetches the
    latest email's pixel with `agent`, then sleeps the next wait, once per wait."""
    intake.stack.open_window("desifirms")
    deal_id, _handle = await intake.stack.enrol(
        email, brand="desifirms", pipeline="real_estate", name="Sam"
    )
    await intake.stack.env.sleep(timedelta(hours=1))
    for wait in waits:
        log = sent_logs(intake.stack.engine, deal_id)[-1]
        assert log.id is not None
        r = await intake.http.get(
            urlsplit(TRACKER.open_url(log.id)).path, headers={"User-Agent": agent}
        )
        assert r.status_code == 200
        await intake.delivered()
        await intake.stack.env.sleep(wait * DAY + timedelta(hours=2))
    return deal_id


async def test_gmail_opener_counts_and_is_never_a_ghost(intake: Intake) -> None:
    email = "reader@gmail.com"
    deal_id = await _open_every_email(intake, email, GMAIL, [3, 4, 5, 0])
    handle = intake.stack.client.get_workflow_handle_for(DealWorkflow.run, f"deal-{deal_id}")
    state = await handle.query(DealWorkflow.state)
    logs = sent_logs(intake.stack.engine, deal_id)
    assert len(logs) == 4, await handle.query(DealWorkflow.timeline)  # the final one went out
    assert [log.opened for log in logs] == [True, True, True, True]
    assert state.status == "active"
    assert state.opens == 4
    assert state.tier != "ghost"


async def test_apple_privacy_prefetches_are_machine_opens_not_engagement(intake: Intake) -> None:
    email = "someone@icloud.com"
    deal_id = await _open_every_email(intake, email, APPLE_MPP, [3, 4, 5])
    handle = intake.stack.client.get_workflow_handle_for(DealWorkflow.run, f"deal-{deal_id}")
    # Three emails in a row no person opened: a rest (burnout), never a close as ghost. (No
    # person's open makes the tier cold: its waits are 1.5 times the stage's, so the rest
    # starts 7.5 days after the third email and the fourth goes 7 days later.)
    await intake.stack.env.sleep(11 * DAY)
    r = await intake.http.get(
        "/api/crm/email-logs/", params={"deal": deal_id}, headers={"Authorization": "Bearer k"}
    )
    shown = [(log["opened"], log["machine_opened"]) for log in reversed(r.json()["items"])]
    # Each email says whether a machine opened it; the fourth arrived after the last fetch.
    assert shown == [(False, True), (False, True), (False, True), (False, False)]
    state = await handle.query(DealWorkflow.state)
    timeline = [entry.text for entry in await handle.query(DealWorkflow.timeline)]
    assert len(sent_logs(intake.stack.engine, deal_id)) == 4, timeline  # the final one went out
    assert state.status == "active"
    assert state.tier != "ghost"
    assert any("machine open" in text for text in timeline)
    assert state.opens == 0  # no engagement
