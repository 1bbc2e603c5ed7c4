"""Each brand sends through its own mail account (issue 11, items 2 and 3), seen on the wire.

Codeteki's default provider is Zoho over SMTP (`zoho_smtp`): implicit TLS and an app password
on Zoho's SMTP server, and every header the REST API cannot carry (List-Unsubscribe with
one-click POST, a plain-text part, Reply-To, the From name). Desi Firms sends through its own
SMTP account. Both come from BRAND_<SLUG>_* variables; the deployment-wide server gets
nothing. Before, there was one set of credentials per deployment and no Zoho SMTP provider.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlmodel import Session, select

from dealpilot.temporal.deals import DealWorkflows
from models import EmailLog, MailProviderName
from tests.mail.servers import SmtpRecorder, free_port, self_signed_cert
from tests.waiting import wait_until
from tests.workflows.conftest import Stack, smtp, stack, time_env  # noqa: F401 (fixtures)
from tests.workflows.helpers import stack_settings
from worker import build_worker

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

ZOHO_USER, ZOHO_APP_PASSWORD = "outreach@codeteki.au", "zoho-app-pw-9f2"


@pytest.fixture
def zoho_smtp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SmtpRecorder, int]]:
    """Zoho's SMTP server as Codeteki's provider meets it: implicit TLS, AUTH required."""
    cert, key = self_signed_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # our client trusts this server's certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[bytes] = []

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            ZOHO_USER.encode(),
            ZOHO_APP_PASSWORD.encode(),
        )
        if ok:
            logins.append(auth_data.login)
        return AuthResult(success=ok, handled=False)

    recorder, port = SmtpRecorder(), free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        ssl_context=context,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,  # it is TLS from the first byte; aiosmtpd only knows STARTTLS
    )
    controller.start()
    yield recorder, port
    controller.stop()
    assert logins, "Codeteki's mail went out without logging in"


@pytest.fixture
def desifirms_smtp() -> Iterator[tuple[SmtpRecorder, int]]:
    recorder, port = SmtpRecorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, port
    controller.stop()


def _parsed(content: bytes) -> EmailMessage:
    msg = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


async def test_each_brand_sends_through_its_own_account_with_full_headers(
    stack: Stack,  # noqa: F811
    tmp_path: Path,
    zoho_smtp: tuple[SmtpRecorder, int],
    desifirms_smtp: tuple[SmtpRecorder, int],
) -> None:
    (zoho, zoho_port), (desi, desi_port) = zoho_smtp, desifirms_smtp
    settings = stack_settings(
        tmp_path,
        stack.settings.smtp_port,  # the deployment-wide server: no brand uses it
        BRAND_CODETEKI_ZOHO_SMTP_HOST="127.0.0.1",
        BRAND_CODETEKI_ZOHO_SMTP_PORT=str(zoho_port),  # security: "ssl", the default
        BRAND_CODETEKI_ZOHO_SMTP_USERNAME=ZOHO_USER,
        BRAND_CODETEKI_ZOHO_SMTP_PASSWORD=ZOHO_APP_PASSWORD,
        BRAND_DESIFIRMS_SMTP_PORT=str(desi_port),
    )
    assert stack.brand("codeteki").provider == MailProviderName.zoho_smtp  # seeded default
    stack.open_window("codeteki", provider=MailProviderName.zoho_smtp, reply_to="hello@codeteki.au")
    stack.open_window("desifirms")  # provider smtp
    queue = f"brands-{uuid.uuid4().hex[:8]}"
    worker = build_worker(
        stack.client, settings=settings, engine=stack.engine, ai=stack.worker_ai, task_queue=queue
    )
    workflows = DealWorkflows(stack.client, queue)
    async with worker:
        for address, brand, pipeline in (
            ("sam@leeplumbing.com.au", "codeteki", "sales"),
            ("priya@realty.com.au", "desifirms", "real_estate"),
        ):
            start = stack.create_deal(address, brand=brand, pipeline=pipeline, name="Sam Lee")
            await workflows.start(start)
        await stack.env.sleep(timedelta(hours=1))
        wait_until(lambda: zoho.received and desi.received, timeout=30, what="both emails")

    (codeteki_mail,) = zoho.received
    (desi_mail,) = desi.received
    assert codeteki_mail.rcpt_tos == ["sam@leeplumbing.com.au"]
    assert desi_mail.rcpt_tos == ["priya@realty.com.au"]
    assert stack.inbox.messages == []  # nothing through the deployment-wide account

    msg = _parsed(codeteki_mail.content)
    assert str(msg["From"]) == "Codeteki <outreach@codeteki.au>"
    assert str(msg["Reply-To"]) == "hello@codeteki.au"
    unsubscribe = str(msg["List-Unsubscribe"])
    assert unsubscribe.startswith("<https://crm.example.test/api/crm/unsubscribe/")
    assert str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",))
    assert text is not None
    assert "Sam" in text.get_content()
    with Session(stack.engine) as s:
        providers = dict(s.exec(select(EmailLog.to_email, EmailLog.provider)).all())
    # The two deals send side by side: which ledger row comes first is theirs to race.
    assert providers == {"sam@leeplumbing.com.au": "zoho_smtp", "priya@realty.com.au": "smtp"}
