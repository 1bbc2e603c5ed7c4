"""The app in front of real deal workflows (time-skipping server, worker, seeded PostgreSQL,
aiosmtpd inbox), with every webhook secret configured and its lifespan running: the endpoints
answer first, and the app's intake relay delivers their events afterwards (`Intake.delivered`
waits for it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlmodel import Session, func, select
from temporalio.client import Client

from api import create_app
from dealpilot.intake import count_pending
from models import EmailEvent
from tests.waiting import wait_until_async
from tests.workflows.conftest import Stack, smtp, stack, time_env  # noqa: F401 (fixtures)
from tests.workflows.helpers import sent_logs
from workflows.deal import DealWorkflow

SECRETS = {
    "zeptomail_webhook_key": "zepto-key",
    "mailgun_signing_key": "mailgun-key",
    "postmark_inbound_user": "postmark",
    "postmark_inbound_password": "postmark-pass",
    "sendgrid_inbound_key": "sendgrid-key",
    "dealpilot_webhook_secret": "generic-secret",
}


def intake_app(on: Stack, *, temporal: Client | None, secrets: bool = True) -> FastAPI:
    update: dict[str, object] = {"temporal_task_queue": on.task_queue}
    if secrets:  # model_copy does not validate: secrets go in as SecretStr
        update.update({k: v if k.endswith("_user") else SecretStr(v) for k, v in SECRETS.items()})
    settings = on.settings.model_copy(update=update)
    return create_app(
        engine=on.engine, api_keys={"k"}, settings=settings, temporal=temporal, relay_every=None
    )


@dataclass
class Intake:
    stack: Stack
    http: httpx.AsyncClient

    def events(self) -> int:
        with Session(self.stack.engine) as s:
            return s.exec(select(func.count()).select_from(EmailEvent)).one()

    def pending(self) -> int:
        with Session(self.stack.engine) as s:
            return count_pending(s)

    async def delivered(self) -> None:
        """Until the app's relay has delivered every stored event (the endpoints do not wait)."""
        await wait_until_async(
            lambda: self.pending() == 0, timeout=30, interval=0.05, what="the relay's delivery"
        )

    async def first_email(self, email: str, *, brand: str = "codeteki", pipeline: str = "sales"):
        self.stack.open_window(brand)
        deal_id, started = await self.stack.enrol(email, brand=brand, pipeline=pipeline, name="Sam")
        handle = self.stack.client.get_workflow_handle_for(DealWorkflow.run, started.id)
        await self.stack.env.sleep(3600)
        logs = sent_logs(self.stack.engine, deal_id)
        assert len(logs) == 1, await handle.query(DealWorkflow.timeline)
        return deal_id, handle, logs[0]


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test")


@pytest.fixture
async def intake(stack: Stack) -> AsyncIterator[Intake]:  # noqa: F811
    app = intake_app(stack, temporal=stack.client)
    async with app.router.lifespan_context(app), client_for(app) as http:
        yield Intake(stack, http)
