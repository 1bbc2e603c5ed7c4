"""The funnel sees the moves a running deal workflow makes (the triggers on `deal`, whoever
writes it): a deal enrolled through the API, emailed, then marked won through its workflow."""

from __future__ import annotations

from datetime import timedelta

from models import utcnow
from tests.api_workflows.conftest import Api, api  # noqa: F401 (fixtures)
from tests.workflows.conftest import smtp, stack, time_env  # noqa: F401 (fixtures)
from workflows.deal import DealWorkflow


async def test_a_workflow_won_deal_runs_through_the_funnel(api: Api) -> None:  # noqa: F811
    api.stack.open_window("desifirms")
    pipeline_id = api.pipeline_id("desifirms", "real_estate")
    contact_id = api.contact("funnel@realty.com.au", brand="desifirms", name="Priya")
    created = await api.http.post(
        "/api/crm/deals/", json={"contact_id": contact_id, "pipeline_id": pipeline_id}
    )
    assert created.status_code == 201, created.text
    deal_id = created.json()["id"]
    await api.stack.env.sleep(timedelta(minutes=30))
    won = await api.http.post(f"/api/crm/deals/{deal_id}/mark-won/", json={"reason": "signed"})
    assert won.status_code == 200, won.text
    # The workflow completed: none of its activities is still writing when the test ends.
    handle = api.stack.client.get_workflow_handle_for(DealWorkflow.run, f"deal-{deal_id}")
    assert (await handle.result()).status == "won"

    today = utcnow().date()
    span = f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
    funnel = (
        await api.http.get(f"/api/crm/analytics/funnel/?pipeline={pipeline_id}&{span}")
    ).json()
    (p,) = funnel["pipelines"]
    assert (p["deals"], p["won"], p["lost"], p["open"]) == (1, 1, 0, 0)
    reached = {s["name"]: s["reached"] for s in p["stages"] if s["reached"]}
    assert reached == {"Agent Found": 1, "Invited": 1, "Listing Properties": 1}
    found, invited = p["stages"][0], p["stages"][1]
    assert (found["name"], found["converted"], found["stays_ended"]) == ("Agent Found", 1, 1)
    assert (invited["name"], invited["stays_ended"], invited["converted"]) == ("Invited", 1, 0)
    # Half an hour in Invited on the workflow's clock (plus the test's own few seconds). The
    # time-skipping server's clock may run ahead of the wall clock (the deal's creation):
    # only stays measured on the workflow's clock alone are asserted, and the emails' range
    # reaches a year ahead.
    assert 0.49 <= invited["median_hours"] <= 0.52
    ahead = f"from={today - timedelta(days=1)}&to={today + timedelta(days=365)}"
    emails = (
        await api.http.get(f"/api/crm/analytics/emails/?pipeline={pipeline_id}&{ahead}")
    ).json()
    # The intro and the won stage's own email (sent on entering it), counted by the daily
    # rollup's trigger as the sends wrote them.
    assert emails["total"]["sent"] == 2
    assert [(s["label"], s["sent"]) for s in emails["by_stage"]] == [
        ("Desi Firms Real Estate · Invited", 1),
        ("Desi Firms Real Estate · Listing Properties", 1),
    ]
