"""Open pixel, click redirect, unsubscribe and ZeptoMail events against real workflows."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from urllib.parse import urlsplit

from sqlmodel import Session, select

from dealpilot.tracking.tracker import Tracker
from models import Suppression
from tests.api.helpers import assert_error
from tests.intake.conftest import SECRETS, Intake
from workflows.deal import DealWorkflow

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0"


def _path(url: str) -> str:
    return urlsplit(url).path


def _tracker(intake: Intake) -> Tracker:
    return Tracker("https://crm.example.test", "test-tracking-secret")


async def test_open_pixel_counts_and_forged_pixel_is_404(intake: Intake) -> None:
    _deal_id, handle, log = await intake.first_email("opens@leeplumbing.com.au")
    assert log.id is not None
    good = _path(_tracker(intake).open_url(log.id))
    forged = _path(Tracker("x", "not-our-secret").open_url(log.id))
    assert_error(await intake.http.get(forged), 404)
    assert intake.events() == 0

    assert (await handle.query(DealWorkflow.state)).tier == "new"
    r = await intake.http.get(good, headers={"User-Agent": BROWSER})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/gif"
    assert "no-store" in r.headers["cache-control"]
    await intake.delivered()
    await intake.stack.env.sleep(timedelta(minutes=5))
    state = await handle.query(DealWorkflow.state)
    assert state.opens == 1
    # "hot" in real time; the time-skipping server's clock is an hour ahead of the wall clock
    # the pixel stamps the open with, which may age it to "warm" or "lurker".
    assert state.tier in ("hot", "warm", "lurker")


async def test_click_redirects_only_to_the_signed_url(intake: Intake) -> None:
    _deal_id, handle, log = await intake.first_email("clicks@leeplumbing.com.au")
    assert log.id is not None
    url = _tracker(intake).click_url(log.id, "https://codeteki.au/pricing")
    r = await intake.http.get(_path(url), headers={"User-Agent": BROWSER})
    assert r.status_code == 302
    assert r.headers["location"] == "https://codeteki.au/pricing"
    await intake.delivered()
    token = _path(url).rsplit("/", 1)[1]
    body, mac = token.split(".")
    altered = json.loads(base64.urlsafe_b64decode(body + "=="))
    altered["u"] = "https://evil.example"
    fake = base64.urlsafe_b64encode(json.dumps(altered).encode()).rstrip(b"=").decode()
    assert_error(await intake.http.get(f"/api/crm/track/click/{fake}.{mac}"), 404)
    await intake.stack.env.sleep(timedelta(minutes=5))
    assert (await handle.query(DealWorkflow.state)).clicks == 1
    assert intake.events() == 1


async def test_unsubscribe_get_changes_nothing_post_closes_one_brand_only(intake: Intake) -> None:
    email = "both@leeplumbing.com.au"
    deal_a, handle_a, log_a = await intake.first_email(email, brand="codeteki", pipeline="sales")
    _deal_b, handle_b, _log_b = await intake.first_email(
        email, brand="desifirms", pipeline="real_estate"
    )
    url = _path(_tracker(intake).unsubscribe_url(log_a.brand_id, email, log_a.id))
    page = await intake.http.get(url)
    assert page.status_code == 200
    assert "Codeteki" in page.text
    assert "<form" in page.text
    await intake.stack.env.sleep(timedelta(minutes=5))
    assert intake.events() == 0
    assert (await handle_a.query(DealWorkflow.state)).status == "active"
    assert_error(await intake.http.post(url + "x", data={"List-Unsubscribe": "One-Click"}), 404)

    r = await intake.http.post(url, data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    with Session(intake.stack.engine) as s:  # committed before the response
        rows = s.exec(select(Suppression).where(Suppression.email == email)).all()
    assert [row.brand_id for row in rows] == [log_a.brand_id]
    again = await intake.http.post(url, data={"confirm": "yes"})
    assert "unsubscribed" in again.text
    await intake.delivered()
    result = await handle_a.result()
    assert (result.status, result.lost_reason) == ("lost", "unsubscribed")
    await intake.stack.env.sleep(timedelta(days=10))
    other = await handle_b.query(DealWorkflow.state)
    assert other.status == "active"
    assert other.emails_sent >= 2  # the other brand's sequence goes on
    assert deal_a


def _zepto(body: bytes, *, key: str = SECRETS["zeptomail_webhook_key"], ts: float | None = None):
    mac = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    stamp = int((ts if ts is not None else time.time()) * 1000)
    return {"producer-signature": f"ts={stamp};s={mac};s-algorithm=HmacSHA256"}


async def test_zeptomail_hard_bounce_closes_and_forgeries_do_nothing(intake: Intake) -> None:
    _deal_id, handle, log = await intake.first_email("bounce@leeplumbing.com.au")
    before = await handle.query(DealWorkflow.timeline)
    body = json.dumps(
        {
            "event_name": ["hardbounce"],
            "event_message": [
                {
                    "email_info": {
                        "client_reference": log.idempotency_key,
                        "to": [{"email_address": {"address": log.to_email}}],
                    },
                    "event_data": [
                        {
                            "details": [
                                {"reason": "550 no such user", "time": "2026-03-02T10:00:00Z"}
                            ]
                        }
                    ],
                }
            ],
            "request_id": "zr-1",
        }
    ).encode()
    url = "/api/crm/webhooks/zeptomail"
    assert_error(await intake.http.post(url, content=body, headers=_zepto(body, key="x")), 401)
    stale = _zepto(body, ts=time.time() - 3600)
    assert_error(await intake.http.post(url, content=body, headers=stale), 401)
    assert_error(await intake.http.post(url, content=body), 401)
    bad = b'{"event_name": ["nope"], "event_message": []}'
    assert_error(await intake.http.post(url, content=bad, headers=_zepto(bad)), 422)
    await intake.stack.env.sleep(timedelta(minutes=5))
    assert intake.events() == 0
    assert await handle.query(DealWorkflow.timeline) == before

    r = await intake.http.post(url, content=body, headers=_zepto(body))
    assert r.status_code == 200, r.text
    assert (await intake.http.post(url, content=body, headers=_zepto(body))).json()["new"] == 0
    result = await handle.result()
    assert result.status == "lost"
    assert "550" in result.lost_reason


def test_a_token_of_any_characters_is_refused_not_an_error() -> None:
    """Ours are ASCII; a token with other characters is not ours (issue 10: it raised)."""
    from dealpilot.tracking.tracker import verify

    genuine = _path(Tracker("x", "s").open_url(7)).rsplit("/", 1)[1].removesuffix(".gif")
    assert verify(genuine, "s", purpose="o") == {"p": "o", "l": 7}
    body, mac = genuine.split(".")
    for token in (f"{body}.{mac}é", f"é{body}.{mac}", "².²", "\u00ff", f"{body}.\U0001f600"):
        assert verify(token, "s", purpose="o") is None
