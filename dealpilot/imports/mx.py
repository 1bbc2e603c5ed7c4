"""Does an address's domain accept mail? An MX lookup (with the RFC 5321 fallback to an A
or AAAA record), cached per domain. The resolver is injected: tests point it at a local DNS
server; production uses the system's (`/etc/resolv.conf`)."""

from __future__ import annotations

import dns.exception
import dns.name
import dns.resolver

NO_MAIL_SERVER = "no mail server"
DNS_UNAVAILABLE = "mail server not checked: DNS unavailable"
# After this many DNS failures in a row every further domain is reported unchecked at once,
# so an import without working DNS does not wait out one timeout per domain.
GIVE_UP_AFTER = 3


class MailDomainChecker:
    """`problem(domain)` is None when the domain can receive mail, else the reason."""

    def __init__(
        self, resolver: dns.resolver.Resolver | None = None, *, lifetime: float = 4.0
    ) -> None:
        self._resolver = resolver or dns.resolver.Resolver()
        self._lifetime = lifetime
        self._cache: dict[str, str | None] = {}
        self._failures_in_a_row = 0

    def problem(self, domain: str) -> str | None:
        domain = domain.lower().rstrip(".")
        if domain not in self._cache:
            self._cache[domain] = self._lookup(domain)
        return self._cache[domain]

    def _resolve(self, domain: str, rdtype: str) -> dns.resolver.Answer | None:
        """The answer, or None when the name exists without records of this type."""
        try:
            return self._resolver.resolve(domain, rdtype, lifetime=self._lifetime)
        except dns.resolver.NoAnswer:
            return None

    def _lookup(self, domain: str) -> str | None:
        if self._failures_in_a_row >= GIVE_UP_AFTER:
            return DNS_UNAVAILABLE
        try:
            reason = self._mail_problem(domain)
        except dns.resolver.NXDOMAIN:
            reason = f"{NO_MAIL_SERVER} (the domain does not exist)"
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            self._failures_in_a_row += 1
            return f"{DNS_UNAVAILABLE} ({type(exc).__name__})"
        except dns.exception.DNSException as exc:  # a malformed name, a refused query...
            reason = f"{NO_MAIL_SERVER} ({type(exc).__name__})"
        self._failures_in_a_row = 0
        return reason

    def _mail_problem(self, domain: str) -> str | None:
        answer = self._resolve(domain, "MX")
        if answer is not None:
            exchanges = [record.exchange for record in answer]
            if all(exchange == dns.name.root for exchange in exchanges):
                return f"{NO_MAIL_SERVER} (the domain publishes a null MX)"
            return None
        for rdtype in ("A", "AAAA"):
            if self._resolve(domain, rdtype) is not None:
                return None
        return NO_MAIL_SERVER
