"""An HTTP client for URLs that users supply: https only, public addresses only.

Names are checked as resolved, by the resolver whose answers the connection then uses, so what
is checked is what is connected to (no second lookup to rebind). Literal addresses, which
aiohttp does not resolve, are checked before the request leaves. Redirects are never followed.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from domain.policies.base_url import is_numeric_host, is_public_address

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


def refusal(scheme: str, host: str) -> str | None:
    """Why a request to `scheme://host` must not leave, or None. Names are checked later, as
    `PublicOnlyResolver` resolves them."""
    if scheme != "https":
        return f"only https is allowed for {host}"
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return f"{host} is {BLOCKED}" if is_numeric_host(host) else None
    return None if is_public_address(literal) else f"{host} is {BLOCKED}"


def as_blocked(exc: httpx.TransportError, host: str) -> httpx.TransportError:
    """`exc`, or a `BlockedAddressError` if it is aiohttp's wrapping of the resolver's refusal."""
    if BLOCKED in str(exc):
        return BlockedAddressError(f"{host} resolves to {BLOCKED}")
    return exc


class PublicOnlyTransport(httpx.AsyncBaseTransport):
    """Refuses plain http and literal non-public addresses before the request leaves; the
    session under `inner` must resolve names with `PublicOnlyResolver`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        reason = refusal(url.scheme, url.host)
        if reason is not None:
            raise BlockedAddressError(reason, request=request)
        try:
            return await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            blocked = as_blocked(exc, url.host)
            if blocked is exc:
                raise
            raise blocked from None

    async def aclose(self) -> None:
        await self._inner.aclose()
