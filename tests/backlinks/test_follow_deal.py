"""A backlink opportunity follows its deal (issue 11, item 15): when the deal is lost (an
unsubscribe, "not interested", mark-lost) the opportunity is rejected and its page is no
longer checked; before, it stayed "outreaching" and was fetched every day for ever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from models import BacklinkOpportunity, Brand, session_scope
from tests.api_workflows.conftest import Api
from tests.backlinks.pages import Pages

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(180)]


def _opportunity(api: Api, url: str) -> int:
    with session_scope(api.stack.engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        row = BacklinkOpportunity(
            brand_id=brand.id or 0,
            target_url=url,
            target_domain="127.0.0.1",
            source_data={"Contact email": "editor@roundup.example.org"},
        )
        s.add(row)
        s.flush()
        return row.id or 0


async def test_a_lost_deal_rejects_its_opportunity_and_stops_its_checks(
    api: Api, pages: Pages
) -> None:
    api.stack.open_window("codeteki")
    url = pages.set("roundup", "<h1>Web app roundup</h1>")
    opp_id = _opportunity(api, url)
    enrolled = await api.http.post("/api/crm/backlinks/enrol/", json={"ids": [opp_id]})
    assert enrolled.status_code == 201, enrolled.text
    (item,) = enrolled.json()["enrolled"]
    await api.stack.env.sleep(timedelta(minutes=5))
    assert (await api.http.get(f"/api/crm/backlinks/{opp_id}/")).json()["status"] == "outreaching"
    checked = await api.http.post("/api/crm/backlinks/verify/", json={"brand": "codeteki"})
    assert checked.status_code == 200, checked.text
    assert checked.json()["checked"] == 1
    fetched = len(pages.user_agents)

    lost = await api.http.post(
        f"/api/crm/deals/{item['deal_id']}/mark-lost/", json={"reason": "not a fit"}
    )
    assert lost.status_code == 200, lost.text
    opportunity = (await api.http.get(f"/api/crm/backlinks/{opp_id}/")).json()
    assert opportunity["status"] == "rejected"
    again = await api.http.post("/api/crm/backlinks/verify/", json={"brand": "codeteki"})
    assert again.json()["checked"] == 0
    assert len(pages.user_agents) == fetched  # its page was not fetched again
