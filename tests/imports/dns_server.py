"""A tiny authoritative DNS server on a local UDP port, answering from a dict (dnspython's
wire format), for the import's mail-server checks."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import dns.message
import dns.rcode
import dns.resolver
import dns.rrset


class LocalDNS:
    """`records[(name, type)] = [rdata text, ...]`; a name listed in `records` under another
    type answers NOERROR with no records; `servfail` names fail; anything else is NXDOMAIN."""

    def __init__(
        self, records: dict[tuple[str, str], list[str]], *, servfail: frozenset[str] = frozenset()
    ) -> None:
        self.records = records
        self.servfail = servfail
        self.names = {name for name, _ in records}
        self.queries: Counter[tuple[str, str]] = Counter()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)  # so `serve` sees `stopped` soon after the test ends
        self.stopped = threading.Event()
        self.port: int = self.sock.getsockname()[1]

    def _answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries[(name, rdtype)] += 1
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif (name, rdtype) in self.records:
            response.answer.append(
                dns.rrset.from_text(question.name, 300, "IN", rdtype, *self.records[(name, rdtype)])
            )
        elif name not in self.names:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    def serve(self) -> None:
        while not self.stopped.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            self.sock.sendto(self._answer(wire), peer)

    def resolver(self) -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.cache = None
        return resolver


@contextmanager
def local_dns(
    records: dict[tuple[str, str], list[str]], *, servfail: frozenset[str] = frozenset()
) -> Iterator[LocalDNS]:
    server = LocalDNS(records, servfail=servfail)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopped.set()
        thread.join(timeout=5)
        server.sock.close()
