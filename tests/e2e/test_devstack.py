"""`dealpilot dev --demo` end to end: what a newcomer sees in the API, the outbox, the CLIs and
after Ctrl-C and a restart. The tests run in file order against one stack (about 1.5 minutes)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections import Counter
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import httpx
import pytest

from dealpilot.cli.demo import SAMPLES
from tests.e2e.conftest import BIN, DEALPILOT, DevStack, free_port, pid_alive, port_open
from tests.waiting import wait_until

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(240)]

DEMO_EMAILS = {email for _name, email, _company in SAMPLES}
REPLIER = SAMPLES[0][1]  # demo.enrol_demo makes the first sample reply after 20 s
MESSAGE_ID = re.compile(r"<dp\.(\d+)\.(\d+)\.")


def outbox_messages(outbox: Path) -> list[EmailMessage]:
    if not outbox.exists():
        return []
    parser = BytesParser(policy=policy.default)
    return [
        parser.parsebytes(p.read_bytes())  # type: ignore[misc]
        for p in sorted(outbox.glob("*.eml"))
        if not p.name.startswith(".")  # the provider's temp file before its atomic rename
    ]


def sends_by_recipient(outbox: Path) -> Counter[str]:
    return Counter(str(m["To"].addresses[0].addr_spec) for m in outbox_messages(outbox))


def sends_by_deal_step(outbox: Path) -> Counter[tuple[int, int]]:
    steps: Counter[tuple[int, int]] = Counter()
    for m in outbox_messages(outbox):
        match = MESSAGE_ID.match(m["Message-ID"])
        assert match, m["Message-ID"]
        steps[(int(match[1]), int(match[2]))] += 1
    return steps


def demo_deals(stack: DevStack) -> dict[str, int]:
    """contact email -> deal id, from `dealpilot deal list --brand demo` (visibility)."""
    out = stack.cli("deal", "list", "--brand", "demo")
    assert out.returncode == 0, out.stderr
    deals = {}
    for line in out.stdout.splitlines()[1:]:
        cols = line.split()
        if cols and cols[0].startswith("deal-"):
            deals[cols[-1]] = int(cols[0].removeprefix("deal-"))
    return deals


def query_state(stack: DevStack, deal_id: int) -> dict[str, object]:
    out = stack.cli("deal", "show", str(deal_id), "--json")
    assert out.returncode == 0, out.stderr
    state: dict[str, object] = json.loads(out.stdout)["state"]
    return state


def test_api_docs_and_seeded_pipelines(devstack: DevStack) -> None:
    assert httpx.get(f"{devstack.base_url}/docs").status_code == 200

    url = f"{devstack.base_url}/api/crm/pipelines/"
    auth = {"Authorization": f"Bearer {devstack.api_key}"}
    pipelines = httpx.get(url, headers=auth)
    assert pipelines.status_code == 200
    by_name = {p["name"]: p for p in pipelines.json()}
    assert {"Codeteki Sales", "Desi Firms Real Estate", "Demo Sales"} <= set(by_name)

    detail = httpx.get(f"{url}{by_name['Codeteki Sales']['id']}/", headers=auth)
    assert detail.status_code == 200
    stages = detail.json()["stages"]
    assert stages[0]["name"] == "Prospect Found"

    console = devstack.log()
    assert "dealpilot is running" in console
    assert "Traceback" not in console
    assert "PydanticSerializationUnexpectedValue" not in console

    denied = httpx.get(url)
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "unauthorized"
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_sign_in_to_the_console_with_what_dev_printed(devstack: DevStack) -> None:
    """A newcomer's first step: `make dev` prints the console's address and the first admin's
    login; with them, Today opens."""
    printed = re.search(r"Sign in as\s+(\S+)\s+password (\S+)", devstack.log())
    assert printed, devstack.log()[-2000:]
    email, password = printed.groups()
    assert f"{devstack.base_url}/console/" in devstack.log()
    with httpx.Client(base_url=devstack.base_url) as browser:
        form = browser.get("/console/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token
        data = {"email": email, "password": password, "csrf_token": token.group(1)}
        signed_in = browser.post("/console/login", data=data, follow_redirects=True)
        assert signed_in.status_code == 200
        assert "The day so far" in signed_in.text
        assert "Codeteki" in signed_in.text


def test_demo_emails_land_in_the_outbox(devstack: DevStack) -> None:
    def one_per_contact() -> list[EmailMessage] | None:
        # One read of the outbox for both: emails still arriving between two reads made
        # the recipients and the messages disagree.
        messages = outbox_messages(devstack.outbox)
        recipients = {str(m["To"].addresses[0].addr_spec) for m in messages}
        return messages if recipients >= DEMO_EMAILS else None

    messages = wait_until(
        one_per_contact,
        timeout=60,
        interval=1.0,
        what="one email per demo contact in the outbox",
    )
    assert len(messages) == len(DEMO_EMAILS)  # one first email each, nothing more yet
    message = messages[0]
    assert message["To"].addresses[0].addr_spec in DEMO_EMAILS
    assert message["From"].addresses[0].addr_spec == "hello@demo.example"
    assert message["Subject"]
    assert message["List-Unsubscribe"].startswith("<http")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().strip()
    assert "<html" in html.get_content().lower()


def test_list_unsubscribe_header_is_a_plain_url_on_the_wire(devstack: DevStack) -> None:
    raw = wait_until(
        lambda: next(iter(sorted(devstack.outbox.glob("[0-9]*.eml"))), None),
        timeout=60,
        interval=1.0,
        what="an email in the outbox",
    ).read_bytes()
    header = re.search(rb"^List-Unsubscribe: (.*)$", raw, re.MULTILINE)
    assert header is not None
    assert header[1].startswith(b"<http"), header[1]


def test_cli_show_list_and_temporal_query(devstack: DevStack) -> None:
    def all_listed() -> dict[str, int] | None:
        deals = demo_deals(devstack)
        return deals if set(deals) >= DEMO_EMAILS else None

    deals = wait_until(
        all_listed,
        timeout=30,
        interval=1.0,
        what="the demo deals in `dealpilot deal list --brand demo`",
    )
    deal_id = deals[SAMPLES[1][1]]

    show = devstack.cli("deal", "show", str(deal_id))
    assert show.returncode == 0, show.stderr
    assert f"Deal {deal_id}  {SAMPLES[1][1]}  (demo / Demo Sales)" in show.stdout
    assert "stage " in show.stdout
    assert "Timeline:" in show.stdout
    assert "Enrolled in Demo Sales at Prospect Found" in show.stdout

    # The plain temporal CLI, as an ops engineer would type it.
    out = subprocess.run(
        [str(BIN / "temporal"), "workflow", "query", "-w", f"deal-{deal_id}"]
        + ["--type", "state", "--address", devstack.temporal_address],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    state = json.loads(out.stdout[out.stdout.index("{") :])
    assert state["contact_email"] == SAMPLES[1][1]
    assert state["brand"] == "demo"
    assert state["stage"]


def test_demo_reply_moves_the_deal_to_responded(devstack: DevStack) -> None:
    deal_id = demo_deals(devstack)[REPLIER]

    def responded() -> dict[str, object] | None:
        state = query_state(devstack, deal_id)
        return state if state["stage"] == "Responded" else None

    state = wait_until(
        responded,
        timeout=45,
        interval=2,
        what="the demo reply to move its deal to Responded",
    )
    assert state["replies"] == 1
    assert state["status"] == "active"


def test_replied_deal_is_engaged(devstack: DevStack) -> None:
    deal_id = demo_deals(devstack)[REPLIER]
    assert query_state(devstack, deal_id)["tier"] == "engaged"


def test_enrolment_through_the_api_starts_workflows(devstack: DevStack) -> None:
    """Bulk enrolment on the dev stack's API, and a single deal through a separate
    `dealpilot api` process (as in production: API replicas apart from the worker)."""
    auth = {"Authorization": f"Bearer {devstack.api_key}"}
    pipelines = httpx.get(f"{devstack.base_url}/api/crm/pipelines/", headers=auth).json()
    demo = next(p for p in pipelines if p["name"] == "Demo Sales")
    bulk = httpx.post(
        f"{devstack.base_url}/api/crm/deals/bulk/",
        json={"pipeline_id": demo["id"], "emails": ["bulk@newlead.example"]},
        headers=auth,
        timeout=30,
    )
    assert bulk.status_code == 201, bulk.text
    assert bulk.json()["workflows_started"] == 1

    contact = httpx.post(
        f"{devstack.base_url}/api/crm/contacts/",
        json={"brand_id": demo["brand_id"], "email": "solo@newlead.example", "name": "Solo"},
        headers=auth,
    )
    assert contact.status_code == 201, contact.text
    port = free_port()
    api = subprocess.Popen(
        [str(DEALPILOT), "api", "--port", str(port)],
        env=devstack.env,
        cwd=devstack.data_dir.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: port_open(port), timeout=30, interval=0.3, what="`dealpilot api`")
        created = httpx.post(
            f"http://127.0.0.1:{port}/api/crm/deals/",
            json={"contact_id": contact.json()["id"], "pipeline_id": demo["id"]},
            headers=auth,
            timeout=30,
        )
    finally:
        api.send_signal(signal.SIGINT)
        api.wait(timeout=20)
    assert created.status_code == 201, created.text
    assert created.json()["workflow_id"] == f"deal-{created.json()['id']}"

    wait_until(
        lambda: (
            {"bulk@newlead.example", "solo@newlead.example"}
            <= set(sends_by_recipient(devstack.outbox))
        ),
        timeout=30,
        interval=1.0,
        what="the intro emails of the API-enrolled deals",
    )


def test_ctrl_c_stops_everything_and_a_restart_resumes(devstack: DevStack) -> None:
    before_recipients = sends_by_recipient(devstack.outbox)
    before_steps = sends_by_deal_step(devstack.outbox)
    assert set(before_recipients) >= DEMO_EMAILS
    assert all(n == 1 for n in before_steps.values()), before_steps
    temporal_children = list(devstack.children)
    assert temporal_children, "dealpilot dev started no temporal child"

    code = devstack.interrupt()  # raises unless it stops within STOP_TIMEOUT
    assert code == 0, devstack.log()[-4000:]
    wait_until(
        lambda: not any(pid_alive(p) for p in temporal_children),
        timeout=5,
        interval=0.2,
        what="the temporal dev server to exit",
    )
    assert not port_open(devstack.temporal_port)
    assert not port_open(devstack.api_port)

    devstack.start()
    deals = demo_deals(devstack)
    assert set(deals) >= DEMO_EMAILS
    assert query_state(devstack, deals[REPLIER])["stage"] == "Responded"
    other = query_state(devstack, deals[SAMPLES[2][1]])
    assert other["contact_email"] == SAMPLES[2][1]
    assert other["emails_sent"] == 1

    # On purpose a fixed time, not a wait for a condition: nothing may happen in it. The
    # resumed workflows get the chance to (wrongly) send again.
    time.sleep(5)
    assert sends_by_recipient(devstack.outbox) == before_recipients
    assert sends_by_deal_step(devstack.outbox) == before_steps
