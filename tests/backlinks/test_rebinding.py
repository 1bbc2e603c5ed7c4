"""Link checks connect to the address they vetted (issue 11, item 16).

A host answered by DNS rebinding (a public address on the first lookup, 127.0.0.1 on the
next) used to pass the check, made in a request hook, and then be fetched from the worker's
own network, because the client looked the host up again to connect. Now each connection
looks the host up once and connects to that address. The DNS here is a real local server.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import dns.message
import pytest

from dealpilot.backlinks import FetchLimits, OurSite, build_client, check_page
from dealpilot.backlinks.vetted import Resolve
from tests.backlinks.pages import Pages
from tests.imports.dns_server import LocalDNS, local_dns

OURS = OurSite.of("codeteki.example.com")
PUBLIC = "93.184.216.34"  # a global address; nothing answers on the test's port there


class RebindingDNS(LocalDNS):
    """Answers `PUBLIC` for the first A query of a name, 127.0.0.1 from then on."""

    def _answer(self, wire: bytes) -> bytes:
        name = dns.message.from_wire(wire).question[0].name.to_text().rstrip(".").lower()
        if self.queries[(name, "A")] >= 1:
            self.records[(name, "A")] = ["127.0.0.1"]
        return super()._answer(wire)


@pytest.fixture
def rebinding() -> Iterator[RebindingDNS]:
    server = RebindingDNS({("shop.rebind.test", "A"): [PUBLIC]})
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield server
    server.stopped.set()
    thread.join(timeout=5)
    server.sock.close()


def _resolve_with(server: LocalDNS) -> Resolve:
    resolver = server.resolver()

    async def resolve(host: str, port: int) -> list[str]:
        answer = await asyncio.to_thread(resolver.resolve, host, "A", lifetime=2)
        return [record.to_text() for record in answer]

    return resolve


async def test_a_rebinding_host_is_never_fetched_from_a_private_address(
    pages: Pages, rebinding: RebindingDNS
) -> None:
    pages.set("inside", "<a href='https://codeteki.example.com/'>secret</a>")
    port = pages.base_url.rsplit(":", 1)[1]
    limits = FetchLimits(connect_timeout=1, read_timeout=1, deadline=4)
    async with build_client(limits, resolve=_resolve_with(rebinding)) as client:
        page = await check_page(client, f"http://shop.rebind.test:{port}/page/inside", OURS, limits)
    assert pages.user_agents == []  # the worker's own network was never reached
    assert page.links == []
    assert page.error.startswith(("fetch failed", "timed out"))
    assert rebinding.queries[("shop.rebind.test", "A")] == 1  # looked up once, vetted, used


async def test_the_connection_goes_to_the_resolved_address_with_the_host_name_kept(
    pages: Pages,
) -> None:
    """Local use (`allow_private`): the one lookup's address is where the request goes."""
    pages.set("shop", "<a href='https://codeteki.example.com/'>thanks</a>")
    port = pages.base_url.rsplit(":", 1)[1]
    limits = FetchLimits(connect_timeout=1, read_timeout=1, deadline=4, allow_private=True)
    with local_dns({("shop.local.test", "A"): ["127.0.0.1"]}) as dns_server:
        async with build_client(limits, resolve=_resolve_with(dns_server)) as client:
            page = await check_page(
                client, f"http://shop.local.test:{port}/page/shop", OURS, limits
            )
    assert page.ok, page.error
    assert [link.anchor for link in page.links] == ["thanks"]
    assert pages.hosts == [f"shop.local.test:{port}"]
