"""`POST /api/crm/events/product`: product events move onboarding deals forward through their
workflows (which send the stage's email on entry), never backwards, and only once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import Session, col, select

from models import Deal, PipelineStage
from tests.api.helpers import assert_error, fields_of
from tests.api_workflows.conftest import Api, api_app, client_for

URL = "/api/crm/events/product"
AGENT = "meera@harbour-realty.com.au"


async def _event(http: httpx.AsyncClient, event: str, **fields: Any) -> dict[str, Any]:
    r = await http.post(URL, json={"brand": "desifirms", "email": AGENT, "event": event, **fields})
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


def _outcome(body: dict[str, Any]) -> tuple[str, str | None]:
    (result,) = body["results"]
    return result["outcome"], result["to_stage"]


def _deal(api: Api, deal_id: int) -> tuple[str, str]:
    with Session(api.stack.engine) as s:
        deal = s.get(Deal, deal_id)
        assert deal is not None
        stage = s.get(PipelineStage, deal.stage_id)
        assert stage is not None
        return stage.name, deal.status


def _subjects(api: Api, email: str) -> list[str]:
    return [str(m["Subject"]) for m in api.stack.inbox.to(email)]


async def test_onboarding_moves_forward_on_events_and_sends_each_stage_email(api: Api) -> None:
    api.stack.open_window("desifirms")
    contact_id = api.contact(AGENT, brand="desifirms", name="Meera Iyer")

    registered = await api.http.post(
        URL, json={"brand": "desifirms", "contact_id": contact_id, "event": "registered"}
    )
    assert registered.status_code == 201, registered.text
    enrolled = registered.json()
    ((result),) = enrolled["results"]
    assert (result["outcome"], result["pipeline_slug"], result["to_stage"]) == (
        "enrolled",
        "agents_agencies",
        "Registered",
    )
    deal_id = result["deal_id"]
    assert result["workflow_id"] == f"deal-{deal_id}"
    assert (enrolled["contact_id"], enrolled["moved"]) == (contact_id, 1)
    await api.stack.env.sleep(timedelta(minutes=30))
    assert _subjects(api, AGENT) == []  # registering sends nothing by itself

    moved = await _event(api.http, "profile_completed", occurred_at="2025-03-03T10:00:00+11:00")
    assert moved["results"][0]["from_stage"] == "Registered"
    assert _outcome(moved) == ("moved", "Profile Complete")
    assert "2025-03-02 23:00 UTC" in moved["results"][0]["detail"]
    await api.stack.env.sleep(timedelta(hours=1))
    assert _subjects(api, AGENT) == ["Your agent profile is live: next, your agency"]
    assert _deal(api, deal_id) == ("Profile Complete", "active")

    # Redelivered: nothing moves, no second email.
    assert _outcome(await _event(api.http, "profile_completed")) == ("already_at_stage", None)
    assert _outcome(await _event(api.http, "team_invited")) == ("moved", "Team Invited")
    await api.stack.env.sleep(timedelta(hours=1))
    # Older events arriving late are reported and ignored; so is a second registration.
    for late in ("agency_created", "profile_completed", "registered"):
        stale = await _event(api.http, late)
        assert _outcome(stale) == ("stale_event", None), late
        assert stale["moved"] == 0
        assert "Team Invited" in stale["results"][0]["detail"]
    await api.stack.env.sleep(timedelta(hours=1))
    assert _subjects(api, AGENT) == [
        "Your agent profile is live: next, your agency",
        "Your team is invited: time for a first listing",
    ]
    assert _deal(api, deal_id) == ("Team Invited", "active")
    state = (await api.http.get(f"/api/crm/deals/{deal_id}/state/")).json()
    assert state["stage"] == "Team Invited"
    with Session(api.stack.engine) as s:
        assert len(s.exec(select(Deal)).all()) == 1


async def test_a_won_event_closes_the_registered_users_deal(api: Api) -> None:
    api.stack.open_window("desifirms")  # its won stage sends a welcome
    owner = "owner@spice-route.com.au"
    contact_id = api.contact(owner, brand="desifirms", name="Sam")
    pipeline_id = api.pipeline_id("desifirms", "registered_business")
    created = await api.http.post(
        "/api/crm/deals/", json={"contact_id": contact_id, "pipeline_id": pipeline_id}
    )
    assert created.status_code == 201, created.text
    deal_id = created.json()["id"]
    await api.stack.env.sleep(timedelta(minutes=30))

    def event(name: str) -> dict[str, Any]:
        return {"brand": "desifirms", "email": owner, "event": name}

    listed = await api.http.post(URL, json=event("business_listed"))
    assert listed.status_code == 200, listed.text
    assert _outcome(listed.json()) == ("moved", "Listed")
    assert _deal(api, deal_id) == ("Listed", "won")
    again = (await api.http.post(URL, json=event("business_listed"))).json()
    assert _outcome(again)[0] == "deal_closed"
    # No real estate deal for this contact: said, not an error.
    other = (await api.http.post(URL, json=event("agent_profile_created"))).json()
    assert other["results"][0]["outcome"] == "no_deal"
    assert other["moved"] == 0
    # The won stage welcomes them (issue 11, item 12); idle before the end meanwhile.
    await api.stack.env.sleep(timedelta(hours=1))
    assert _subjects(api, owner)[-1] == "Your business is live on Desi Firms"


async def test_event_errors(api: Api) -> None:
    api.contact(AGENT, brand="desifirms")
    api.contact("someone@codeteki-client.com", brand="codeteki")

    async def post(**body: Any) -> httpx.Response:
        return await api.http.post(URL, json={"brand": "desifirms", "event": "registered", **body})

    error = assert_error(await post(email="nobody@example.com"), 404, "unknown_contact")
    assert "nobody@example.com" in error["message"]
    assert_error(await post(contact_id=99999), 404, "unknown_contact")
    # Contacts are per brand: Codeteki's contact is unknown to Desi Firms.
    assert_error(await post(email="someone@codeteki-client.com"), 404, "unknown_contact")
    error = assert_error(await post(email=AGENT, event="logged_in"), 422, "validation_error")
    assert "event" in fields_of(error)
    assert_error(await post(), 422, "validation_error")
    assert_error(await post(email="not an email"), 422, "validation_error")
    assert_error(await post(email=AGENT, brand="nope"), 422, "unknown_brand")
    error = assert_error(
        await post(email="someone@codeteki-client.com", brand="codeteki"), 422, "event_not_tracked"
    )
    assert fields_of(error) == {"event"}
    with Session(api.stack.engine) as s:
        assert s.exec(select(Deal)).all() == []


async def test_without_temporal_registration_enrols_and_moves_say_503(api: Api) -> None:
    api.stack.open_window("desifirms")
    api.contact(AGENT, brand="desifirms")
    async with client_for(api_app(api.stack, temporal=False)) as offline:
        enrolled = await _event(offline, "registered")
        ((result),) = enrolled["results"]
        assert (result["outcome"], result["workflow_id"]) == ("enrolled", None)
        r = await offline.post(
            URL, json={"brand": "desifirms", "email": AGENT, "event": "first_listing"}
        )
        assert_error(r, 503, "temporal_unavailable")
    # Temporal configured, but the deal's workflow never started: start it, then retry.
    assert_error(
        await api.http.post(
            URL, json={"brand": "desifirms", "email": AGENT, "event": "first_listing"}
        ),
        409,
        "no_workflow",
    )
    with Session(api.stack.engine) as s:
        deal = s.exec(select(Deal).where(col(Deal.workflow_id).is_(None))).one()
    started = await api.http.post(f"/api/crm/deals/{deal.id}/start/")
    assert started.status_code == 200, started.text
    await api.stack.env.sleep(timedelta(minutes=30))
    moved = await _event(api.http, "first_listing")
    assert _outcome(moved) == ("moved", "First Listing")
    await api.stack.env.sleep(timedelta(hours=1))
    assert _subjects(api, AGENT) == ["Your first listing is live on Desi Firms"]
