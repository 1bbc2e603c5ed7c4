"""Replies through every inbound path reach the right deal; forged, malformed, oversized and
replayed requests are refused with nothing stored and nothing signalled."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from api import create_app
from dealpilot.intake import Relay, count_pending
from dealpilot.intake.signatures import sign_dealpilot
from dealpilot.temporal.deals import DealWorkflows
from models import EmailLog
from models.uow import UnitsOfWork
from tests.api.helpers import assert_error
from tests.intake.conftest import SECRETS, Intake, client_for, intake_app
from tests.waiting import wait_until_async
from workflows.deal import DealWorkflow

REPLY = (
    "Sounds good, call me Tuesday\n\nOn Mon, 2 Mar 2026, Codeteki <hello@codeteki.au> wrote:\n> hi"
)


def _generic(
    log: EmailLog,
    *,
    ts: int | None = None,
    secret: str = SECRETS["dealpilot_webhook_secret"],
    sender: object = None,
    **extra: object,
):
    body = json.dumps(
        {
            "from": f"Sam <{log.to_email}>" if sender is None else sender,
            "to": "hello@codeteki.au",
            "subject": "Re: hello",
            "text": REPLY,
            "message_id": f"<reply-{log.id}@example.com>",
            "in_reply_to": log.message_id,
            **extra,
        }
    ).encode()
    stamp = str(ts if ts is not None else int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Dealpilot-Timestamp": stamp,
        "X-Dealpilot-Signature": "sha256=" + sign_dealpilot(body, stamp, secret),
    }
    return body, headers


async def _unchanged(intake: Intake, handle, before) -> None:
    await intake.stack.env.sleep(timedelta(minutes=10))
    assert intake.events() == 0
    assert await handle.query(DealWorkflow.timeline) == before


async def test_generic_reply_webhook_refuses_bad_requests_then_moves_the_deal(
    intake: Intake,
) -> None:
    _deal_id, handle, log = await intake.first_email("sam@leeplumbing.com.au")
    before = await handle.query(DealWorkflow.timeline)
    url = "/api/crm/webhooks/reply"

    body, headers = _generic(log, secret="wrong")
    assert_error(
        await intake.http.post(url, content=body, headers=headers), 401, "invalid_signature"
    )
    body, headers = _generic(log, ts=int(time.time()) - 3600)
    assert_error(await intake.http.post(url, content=body, headers=headers), 401)
    body, headers = _generic(log)
    tampered = body.replace(b"Tuesday", b"Friday!")
    assert_error(await intake.http.post(url, content=tampered, headers=headers), 401)
    assert_error(await intake.http.post(url, content=body), 401)
    big, big_headers = _generic(log, text="x" * (1024 * 1024 + 10))
    assert_error(
        await intake.http.post(url, content=big, headers=big_headers), 413, "payload_too_large"
    )
    bad = b"{not json"
    stamp = str(int(time.time()))
    bad_headers = {
        "X-Dealpilot-Timestamp": stamp,
        "X-Dealpilot-Signature": "sha256="
        + sign_dealpilot(bad, stamp, SECRETS["dealpilot_webhook_secret"]),
    }
    assert_error(await intake.http.post(url, content=bad, headers=bad_headers), 400)
    shape, shape_headers = _generic(log, sender=42)
    assert_error(await intake.http.post(url, content=shape, headers=shape_headers), 422)
    async with client_for(
        intake_app(intake.stack, temporal=intake.stack.client, secrets=False)
    ) as bare:
        assert_error(
            await bare.post(url, content=body, headers=headers), 503, "webhook_not_configured"
        )
    await _unchanged(intake, handle, before)

    first = await intake.http.post(url, content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 1, "new": 1}
    again = await intake.http.post(url, content=body, headers=headers)
    assert again.json() == {"received": 1, "new": 0}
    await intake.delivered()
    await intake.stack.env.sleep(timedelta(days=10))
    state = await handle.query(DealWorkflow.state)
    assert (state.stage, state.replies) == ("Responded", 1)
    assert intake.events() == 1
    listed = await intake.http.get(
        "/api/crm/events/?type=reply", headers={"Authorization": "Bearer k"}
    )
    item = listed.json()["items"][0]
    assert item["payload"]["text"] == "Sounds good, call me Tuesday"  # quoted history gone
    assert item["delivered_at"] is not None


def _mailgun(
    log: EmailLog,
    token: str = "tok-1",
    key: str = SECRETS["mailgun_signing_key"],
    ts: int | None = None,
):
    stamp = str(ts if ts is not None else int(time.time()))
    return {
        "timestamp": stamp,
        "token": token,
        "signature": hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest(),
        "from": f"Sam <{log.to_email}>",
        "recipient": "hello@codeteki.au",
        "subject": "Re: hello",
        "body-plain": REPLY,
        "stripped-text": "Sounds good, call me Tuesday",
        "message-headers": json.dumps(
            [["Message-Id", f"<mg-{log.id}@example.com>"], ["In-Reply-To", log.message_id]]
        ),
        "Message-Id": f"<mg-{log.id}@example.com>",
    }


def _postmark(log: EmailLog) -> dict[str, object]:
    return {
        "MessageID": f"pm-{log.id}",
        "From": log.to_email,
        "FromFull": {"Email": log.to_email, "Name": "Sam"},
        "ToFull": [{"Email": "hello@codeteki.au"}],
        "Subject": "Re: hello",
        "Headers": [{"Name": "In-Reply-To", "Value": log.message_id}],
        "TextBody": REPLY,
        "StrippedTextReply": "Sounds good, call me Tuesday",
    }


def _sendgrid(log: EmailLog) -> dict[str, str]:
    return {
        "headers": f"Message-ID: <sg-{log.id}@example.com>\nIn-Reply-To: {log.message_id}\n",
        "from": f"Sam <{log.to_email}>",
        "to": "hello@codeteki.au",
        "subject": "Re: hello",
        "text": REPLY,
        "envelope": json.dumps({"to": ["hello@codeteki.au"], "from": log.to_email}),
    }


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("provider", ["mailgun", "postmark", "sendgrid"])
async def test_provider_inbound_reply_moves_the_deal_and_forgeries_do_nothing(
    intake: Intake, provider: str
) -> None:
    _deal_id, handle, log = await intake.first_email(f"{provider}@leeplumbing.com.au")
    before = await handle.query(DealWorkflow.timeline)
    url = f"/api/crm/webhooks/inbound/{provider}"
    post = intake.http.post
    if provider == "mailgun":
        assert_error(await post(url, data=_mailgun(log, key="wrong")), 401)
        assert_error(await post(url, data=_mailgun(log, ts=int(time.time()) - 3600)), 401)
        good: dict[str, Any] = {"url": url, "data": _mailgun(log)}
        # The same token with another message: a replayed signature.
        replay = {**_mailgun(log), "Message-Id": "<other@example.com>", "message-headers": "[]"}
    elif provider == "postmark":
        assert_error(await post(url, json=_postmark(log), headers=_basic("postmark", "nope")), 401)
        assert_error(await post(url, json=_postmark(log)), 401)
        assert_error(
            await post(url, content=b"{", headers=_basic("postmark", "postmark-pass")), 400
        )
        auth = _basic("postmark", "postmark-pass")
        good = {"url": url, "json": _postmark(log), "headers": auth}
        replay = None
    else:
        assert_error(await post(url + "?key=wrong", files={}, data=_sendgrid(log)), 401)
        assert_error(await post(url, data=_sendgrid(log)), 401)
        attachment = {"attachment1": ("a.txt", b"hi")}
        good = {"url": url + "?key=sendgrid-key", "data": _sendgrid(log), "files": attachment}
        replay = None
    await _unchanged(intake, handle, before)

    first = await post(**good)
    assert first.status_code == 200, first.text
    assert first.json()["new"] == 1
    assert (await post(**good)).json()["new"] == 0
    await intake.delivered()
    if replay is not None:
        assert_error(await post(url, data=replay), 401)
    await intake.stack.env.sleep(timedelta(days=10))
    state = await handle.query(DealWorkflow.state)
    assert (state.stage, state.replies) == ("Responded", 1)
    assert intake.events() == 1


async def test_replies_stored_while_temporal_is_down_arrive_in_order_later(
    intake: Intake,
) -> None:
    deal_id, handle, log = await intake.first_email("later@leeplumbing.com.au")
    async with client_for(intake_app(intake.stack, temporal=None)) as offline:
        body, headers = _generic(log, message_id="<a@x>", text="Is there a price list?")
        assert (
            await offline.post("/api/crm/webhooks/reply", content=body, headers=headers)
        ).status_code == 200
        body, headers = _generic(log, message_id="<b@x>", text="No thanks, not interested.")
        assert (
            await offline.post("/api/crm/webhooks/reply", content=body, headers=headers)
        ).status_code == 200
    await intake.stack.env.sleep(timedelta(minutes=10))
    assert (await handle.query(DealWorkflow.state)).replies == 0

    relay = Relay(DealWorkflows(intake.stack.client), UnitsOfWork(intake.stack.engine))
    report = await relay.run_once()
    assert (report.delivered, report.pending, report.failed_deals) == (2, 0, [])
    result = await handle.result()
    # The question moved the deal to Responded first; the refusal then closed it.
    timeline = [e.text for e in await handle.query(DealWorkflow.timeline) if e.kind == "reply"]
    assert [t.split(" ")[1] for t in timeline] == ["(question,", "(not_interested,"]
    assert result.status == "lost"
    assert deal_id


def _pending(intake: Intake) -> int:
    with Session(intake.stack.engine) as session:
        return count_pending(session)


async def test_the_app_relay_delivers_what_was_stored_while_temporal_was_down(
    intake: Intake,
) -> None:
    _deal_id, handle, log = await intake.first_email("relay@leeplumbing.com.au")
    async with client_for(intake_app(intake.stack, temporal=None)) as offline:
        body, headers = _generic(log)
        assert (
            await offline.post("/api/crm/webhooks/reply", content=body, headers=headers)
        ).json()["new"] == 1
    app = create_app(
        engine=intake.stack.engine,
        api_keys={"k"},
        settings=intake.stack.settings,
        temporal=intake.stack.client,
        relay_every=timedelta(milliseconds=100),
    )
    async with app.router.lifespan_context(app):
        await wait_until_async(
            lambda: _pending(intake) == 0,
            timeout=5,
            interval=0.1,
            what="the relay to deliver the pending event",
        )
    assert app.state.relay is not None
    assert _pending(intake) == 0
    await intake.stack.env.sleep(timedelta(days=1))
    assert (await handle.query(DealWorkflow.state)).stage == "Responded"
