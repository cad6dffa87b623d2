"""An HTTP client for URLs that users supply: https only, public addresses only.

Names are checked as resolved, by the resolver whose answers the connection then uses, so what
is checked is what is connected to (no second lookup to rebind). Literal addresses, which
aiohttp does not resolve, are checked before the request leaves. Redirects are never followed.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from ideaforge_gateway.domain.policies.base_url import is_numeric_host, is_public_address

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


def _refusal(scheme: str, host: str) -> str | None:
    """Why a request to `scheme://host` must not leave, or None. Names are checked later, as
    `PublicOnlyResolver` resolves them."""
    if scheme != "https":
        return f"only https is allowed for {host}"
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return f"{host} is {BLOCKED}" if is_numeric_host(host) else None
    return None if is_public_address(literal) else f"{host} is {BLOCKED}"


@contextmanager
def public_only(scheme: str, host: str, request: httpx.Request | None = None) -> Iterator[None]:
    """Around a request (httpx's or a direct one) on a session that resolves with
    `PublicOnlyResolver`: refuse plain http and literal non-public addresses before it leaves,
    and report the resolver's refusal, which aiohttp wraps as a connection failure, as blocked."""
    reason = _refusal(scheme, host)
    if reason is not None:
        raise BlockedAddressError(reason, request=request)
    try:
        yield
    except httpx.TransportError as exc:
        if BLOCKED not in str(exc):
            raise
        raise BlockedAddressError(f"{host} resolves to {BLOCKED}", request=request) from None


class PublicOnlyTransport(httpx.AsyncBaseTransport):
    """`public_only` around every request of `inner`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with public_only(request.url.scheme, request.url.host, request):
            return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
