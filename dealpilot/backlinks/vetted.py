"""Connections for link checks that go only where they were vetted.

The URLs come from imported files, so a host that resolves to a loopback, private,
link-local or otherwise non-public address is refused. Resolving in one place and letting
the HTTP client resolve again to connect would leave a gap (DNS rebinding: public on the
first answer, 127.0.0.1 on the second). Here each connection, redirects included, resolves
the host once, vets every address, and connects to the address it vetted; TLS still checks
the certificate against the host name, and the Host header is unchanged.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

# host, port -> the addresses it resolves to (tests hand in a local DNS server's answers).
Resolve = Callable[[str, int], Awaitable[list[str]]]


class NonPublicAddressError(Exception):
    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_global
    except ValueError:
        return False


class _VettedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, resolve: Resolve, *, allow_private: bool) -> None:
        self._resolve = resolve
        self._allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def _address(self, host: str, port: int) -> str:
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            try:
                addresses = await self._resolve(host, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"{host} does not resolve") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} does not resolve")
        if not self._allow_private and not all(is_public(a) for a in addresses):
            raise NonPublicAddressError(host)
        return addresses[0]

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self._address(host, port)
        return await self._inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("link checks do not use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class VettedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request mapping, errors, TLS) over a connection pool whose
    every connection is opened by `_VettedBackend`."""

    def __init__(self, *, resolve: Resolve | None = None, allow_private: bool = False) -> None:
        super().__init__(trust_env=False)
        # Replaces the pool httpx built: the same settings plus our network backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_VettedBackend(resolve or system_resolve, allow_private=allow_private),
        )
