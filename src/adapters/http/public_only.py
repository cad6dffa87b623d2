"""An HTTP client for URLs that users supply: https only, public addresses only.

Names are checked as resolved, by the resolver whose answers the connection then uses, so what
is checked is what is connected to (no second lookup to rebind). Literal addresses, which
aiohttp does not resolve, are checked before the request leaves. Redirects are never followed.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp import AiohttpTransport

from domain.policies.base_url import is_public_address

BLOCKED = "not a public address"


class BlockedAddressError(httpx.ConnectError):
    """The request would have reached a loopback, private, link-local or otherwise non-public
    address, or used plain http."""


class PublicOnlyResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, and refuses a name if any address is not public."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not is_public_address(ipaddress.ip_address(result["host"])):
                # errno and strerror, so that aiohttp's wrapping keeps the reason in its message.
                raise OSError(errno.EACCES, f"{host} resolves to {BLOCKED}")
        return results

    async def close(self) -> None:
        await self._inner.close()


class PublicOnlyTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "https":
            raise BlockedAddressError(f"only https is allowed for {url.host}", request=request)
        try:
            literal = ipaddress.ip_address(url.host)
        except ValueError:
            literal = None
        if literal is not None and not is_public_address(literal):
            raise BlockedAddressError(f"{url.host} is {BLOCKED}", request=request)
        try:
            return await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            # aiohttp reports the resolver's refusal as a connection failure of some kind.
            if BLOCKED in str(exc):
                raise BlockedAddressError(f"{url.host} resolves to {BLOCKED}", request=request) from None
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()


def public_only_transport(limits: httpx.Limits, **session: Any) -> PublicOnlyTransport:
    """The aiohttp transport with the public-only resolver, behind the literal-address check."""

    def make_session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=PublicOnlyResolver(),
            limit=limits.max_connections or 100,
            keepalive_timeout=limits.keepalive_expiry,
        )
        return aiohttp.ClientSession(connector=connector, **session)

    return PublicOnlyTransport(AiohttpTransport(client=make_session, limits=limits, trust_env=False))
