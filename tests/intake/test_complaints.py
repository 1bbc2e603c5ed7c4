"""Spam complaints from the sending services' event webhooks (issue 11, item 4): Mailgun's
`complained`, Postmark's `SpamComplaint` and SendGrid's `spamreport` close the deal as lost
and suppress the address for that brand; their other events are acknowledged and change
nothing; a forged request is refused. Before, no endpoint took these events at all."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from sqlmodel import Session, select

from models import EmailLog, Suppression, SuppressionReason
from tests.api.helpers import assert_error
from tests.intake.conftest import SECRETS, Intake

BASIC = {"Authorization": "Basic " + base64.b64encode(b"postmark:postmark-pass").decode()}


def _mailgun(log: EmailLog, sender: str, *, event: str = "complained", key: str = "") -> Any:
    stamp, token = str(int(time.time())), f"tok-{event}"
    key = key or SECRETS["mailgun_signing_key"]
    return {
        "signature": {
            "timestamp": stamp,
            "token": token,
            "signature": hmac.new(
                key.encode(), (stamp + token).encode(), hashlib.sha256
            ).hexdigest(),
        },
        "event-data": {
            "event": event,
            "id": f"mg-{event}-{log.id}",
            "timestamp": time.time(),
            "recipient": log.to_email,
            "message": {"headers": {"message-id": "mailgun-own-id@mg.example", "from": sender}},
        },
    }


def _postmark(log: EmailLog, sender: str, *, record: str = "SpamComplaint") -> Any:
    return {
        "RecordType": record,
        "ID": 4242,
        "Type": "SpamComplaint",
        "Email": log.to_email,
        "From": sender,
        "MessageID": "00000000-0000-0000-0000-000000000000",
        "BouncedAt": "2026-11-05T16:33:54.9070259Z",
        "Content": "<the abuse report>",
    }


def _sendgrid(log: EmailLog) -> Any:
    return [
        {"email": log.to_email, "event": "delivered", "sg_event_id": "sg-d", "timestamp": 1},
        {
            "email": log.to_email,
            "event": "spamreport",
            "sg_event_id": f"sg-spam-{log.id}",
            "smtp-id": log.message_id,
            "timestamp": int(time.time()),
        },
    ]


@pytest.mark.parametrize("provider", ["mailgun", "postmark", "sendgrid"])
async def test_a_providers_complaint_closes_the_deal_and_suppresses(
    intake: Intake, provider: str
) -> None:
    _deal_id, handle, log = await intake.first_email(f"{provider}@leeplumbing.com.au")
    sender = intake.stack.brand("codeteki").from_email
    url = f"/api/crm/webhooks/events/{provider}"
    if provider == "mailgun":
        forged: dict[str, Any] = {"json": _mailgun(log, sender, key="not-the-key")}
        other: dict[str, Any] = {"json": _mailgun(log, sender, event="delivered")}
        good: dict[str, Any] = {"json": _mailgun(log, sender)}
    elif provider == "postmark":
        forged = {"json": _postmark(log, sender)}  # no credentials
        other = {"json": _postmark(log, sender, record="Delivery"), "headers": BASIC}
        good = {"json": _postmark(log, sender), "headers": BASIC}
    else:
        forged = {"json": _sendgrid(log)}  # no key in the URL
        other = {"json": _sendgrid(log)[:1]}
        url_with_key = url + "?key=" + SECRETS["sendgrid_inbound_key"]
        other, good = {**other, "url": url_with_key}, {"json": _sendgrid(log), "url": url_with_key}

    assert_error(await intake.http.post(url, **forged), 401)
    r = await intake.http.post(other.pop("url", url), **other)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 0, "new": 0}  # not a complaint: nothing
    assert intake.events() == 0

    r = await intake.http.post(good.pop("url", url), **good)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 1, "new": 1}
    await intake.delivered()
    result = await handle.result()
    assert (result.status, result.lost_reason) == ("lost", "spam complaint")
    with Session(intake.stack.engine) as s:
        row = s.exec(select(Suppression).where(Suppression.email == log.to_email)).one()
    assert (row.brand_id, row.reason) == (log.brand_id, SuppressionReason.complaint)
    listed = await intake.http.get(
        "/api/crm/events/?type=complaint", headers={"Authorization": "Bearer k"}
    )
    assert [e["source"] for e in listed.json()["items"]] == [provider]
    assert json.dumps(listed.json()).count("the abuse report") == 0  # the dump is not kept
