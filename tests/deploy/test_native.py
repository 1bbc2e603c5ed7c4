"""The production processes run natively, as docker compose runs them: a `.env` made from
`.env.example` (placeholders replaced by real secrets, addresses pointed at local servers), a
fresh PostgreSQL database, a Temporal dev server without our search attributes, then the
`migrate` service's commands, `dealpilot worker` and `dealpilot api` as subprocesses.

One test walks what an operator checks after `docker compose up --scale worker=2`: health, a
deal enrolled through the API starting its workflow and sending once (outbox provider), the
API's /metrics, the workers' own metrics ports and the Temporal SDK's, and a clean stop on
SIGTERM."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from dealpilot.core.settings import Settings
from tests.db import fresh_database
from tests.e2e.conftest import DEALPILOT, free_port, port_open
from tests.temporal import DEV_SERVER
from tests.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.temporal, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
ALIASES = {f.alias for f in Settings.model_fields.values() if f.alias}


def env_file_from_example(overrides: dict[str, str]) -> tuple[str, dict[str, str]]:
    """.env.example as an operator fills it in: every `changeme` a fresh secret, the addresses
    (and the settings compose sets in `environment:`) given by `overrides`."""
    values: dict[str, str] = {}
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            key, value = match[1], match[2]
            if value == "changeme":
                value = secrets.token_urlsafe(24)
            value = overrides.get(key, value)
            values[key] = value
            line = f"{key}={value}"
        lines.append(line)
    for key, value in overrides.items():
        if key not in values:
            lines.append(f"{key}={value}")
            values[key] = value
    return "\n".join(lines) + "\n", values


@dataclass
class Deployment:
    root: Path
    values: dict[str, str]
    api_port: int
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.values['DEALPILOT_API_KEYS']}"}

    def run(self, *args: str, timeout: float = 90) -> str:
        done = subprocess.run(
            [str(DEALPILOT), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"dealpilot {' '.join(args)}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 (lives with the child)
        proc = subprocess.Popen(
            args, cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def deployment(postgres_admin_url: str, tmp_path: Path) -> Iterator[Deployment]:
    temporal_port, api_port = free_port(), free_port()
    worker_metrics, temporal_metrics = free_port(), free_port()
    with fresh_database(postgres_admin_url) as database_url:
        text, values = env_file_from_example(
            {
                # What docker-compose.yml's `environment:` and the operator's addresses set.
                "DATABASE_URL": database_url,
                "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
                # Only written into the emails here: any real, reachable-looking address.
                "PUBLIC_BASE_URL": "https://crm.codeteki.au",
                "WORKER_METRICS_PORT": str(worker_metrics),
                "TEMPORAL_METRICS_PORT": str(temporal_metrics),
            }
        )
        (tmp_path / ".env").write_text(text)
        # Settings come from the .env alone, as in the container (no leaks from this process).
        env = {k: v for k, v in os.environ.items() if k not in ALIASES}
        env["PYTHONWARNINGS"] = "ignore"
        stack = Deployment(root=tmp_path, values=values, api_port=api_port, env=env)
        try:
            stack.start(
                "temporal",
                str(DEV_SERVER),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(temporal_port),
                "--headless",
                "--log-level",
                "warn",
            )
            yield stack
        finally:
            stack.stop_all()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_compose_services_natively(deployment: Deployment) -> None:
    stack = deployment
    values = stack.values
    assert values["DEALPILOT_ENV"] == "production"

    # The `migrate` service: schema, then the search attributes on a server that lacks them.
    stack.run("migrate")
    out = stack.run("setup-temporal", "--wait", "60")
    assert "DealStage" in out
    stack.run("seed")  # the README's first-run step
    api = stack.start("api", str(DEALPILOT), "api", "--port", str(stack.api_port))

    def healthy() -> bool:
        assert api.poll() is None, stack.log("api")
        try:
            return httpx.get(f"{stack.url}/healthz", timeout=2).json() == {
                "status": "ok",
                "database": "ok",
            }
        except httpx.TransportError:
            return False

    wait_until(healthy, timeout=45, what="the API's /healthz")
    client = httpx.Client(base_url=stack.url, headers=stack.auth, timeout=30)

    # The seeded brands' postal addresses are city names: no worker sends until they are real.
    refused = stack.start("refused", str(DEALPILOT), "worker")
    assert refused.wait(timeout=60) == 1
    assert "not_ready_for_production" in stack.log("refused")
    for brand in client.get("/api/crm/brands/").json():
        fixed = client.patch(
            f"/api/crm/brands/{brand['id']}/",
            json={"postal_address": "Level 2, 100 Collins Street, Melbourne VIC 3000"},
        )
        assert fixed.status_code == 200, fixed.text

    worker = stack.start("worker", str(DEALPILOT), "worker")
    # A second replica on the same host: its own metrics port, no SDK metrics port.
    second_port = free_port()
    second = stack.start(
        "worker2",
        str(DEALPILOT),
        "worker",
        "--metrics-port",
        str(second_port),
        "--temporal-metrics-port",
        "0",
    )
    worker_port = int(values["WORKER_METRICS_PORT"])
    wait_until(
        lambda: worker.poll() is None and port_open(worker_port) or None,
        timeout=45,
        what=f"the worker's metrics port\n{stack.log('worker')}",
    )

    wait_until(
        lambda: second.poll() is None and port_open(second_port) or None,
        timeout=45,
        what=f"the second worker's metrics port\n{stack.log('worker2')}",
    )

    # An operator sets the brand up to send through the outbox, any time, and enrols a lead.
    assert httpx.get(f"{stack.url}/api/crm/brands/", timeout=5).status_code == 401
    brand = next(b for b in client.get("/api/crm/brands/").json() if b["slug"] == "codeteki")
    patched = client.patch(
        f"/api/crm/brands/{brand['id']}/",
        json={
            "provider": "outbox",
            "send_days": [0, 1, 2, 3, 4, 5, 6],
            "send_window_start": "00:00:00",
            "send_window_end": "23:59:59",
            "min_gap_seconds": 0,
        },
    )
    assert patched.status_code == 200, patched.text
    pipeline = next(
        p for p in client.get("/api/crm/pipelines/").json() if p["name"] == "Codeteki Sales"
    )
    contact = client.post(
        "/api/crm/contacts/",
        json={"brand_id": brand["id"], "email": "ops@native.example", "name": "Ola Ops"},
    )
    assert contact.status_code == 201, contact.text
    deal = client.post(
        "/api/crm/deals/",
        json={"contact_id": contact.json()["id"], "pipeline_id": pipeline["id"]},
    )
    assert deal.status_code == 201, deal.text
    assert deal.json()["workflow_id"] == f"deal-{deal.json()['id']}"

    outbox = stack.root / ".dealpilot" / "outbox"  # DEALPILOT_DATA_DIR's default, cwd-relative
    sent = wait_until(
        lambda: [p for p in outbox.glob("*.eml") if not p.name.startswith(".")],
        timeout=60,
        what=f"the deal's first email in the outbox\n{stack.log('worker')[-3000:]}",
    )
    assert len(sent) == 1
    assert b"ops@native.example" in sent[0].read_bytes()
    assert str(values["PUBLIC_BASE_URL"]).encode() in sent[0].read_bytes()  # tracking links

    # The API's /metrics: our request, and the send from the ledger (brand and provider).
    page = samples(client.get("/metrics").text)
    created = {"method": "POST", "route": "/api/crm/deals", "status": "201"}
    assert page[("dealpilot_http_requests_total", frozenset(created.items()))] == 1
    ledger = {"brand": "codeteki", "provider": "outbox", "status": "sent"}
    assert page[("dealpilot_ledger_emails", frozenset(ledger.items()))] == 1

    # The worker's own registry, and the Temporal SDK's metrics on their own port.
    # Either replica may have run the send; between them, exactly one.
    outbox_sent = ("dealpilot_emails_sent_total", frozenset({"provider": "outbox"}.items()))
    sent_by = [
        samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text).get(outbox_sent, 0)
        for port in (worker_port, second_port)
    ]
    assert sum(sent_by) == 1, sent_by
    sdk = httpx.get(f"http://127.0.0.1:{values['TEMPORAL_METRICS_PORT']}/metrics", timeout=5)
    assert sdk.status_code == 200
    assert re.search(r"^temporal_\w+", sdk.text, re.MULTILINE), sdk.text[:500]
    assert 'service="dealpilot-worker"' in sdk.text
    assert 'task_queue="dealpilot"' in sdk.text

    # docker stop: SIGTERM, and all stop well inside compose's grace period. Workers exit 0;
    # uvicorn shuts the API down, then re-raises the signal it captured (exit -15).
    stopping = (("worker", worker, {0}), ("worker2", second, {0}), ("api", api, {0, -15}))
    for _name, proc, _codes in stopping:
        proc.send_signal(signal.SIGTERM)
    for name, proc, codes in stopping:
        assert proc.wait(timeout=30) in codes, stack.log(name)[-3000:]
    assert "worker.stopped" in stack.log("worker")
    assert "worker.stopped" in stack.log("worker2")
    for name in ("worker", "worker2", "api"):
        assert "Traceback" not in stack.log(name), stack.log(name)[-3000:]
