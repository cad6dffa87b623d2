"""The guard for URLs that users supply: https only, public addresses only.

Names are checked as resolved, by the resolver whose answers the connection then uses, so what
is checked is what is connected to (no second lookup to rebind). Literal addresses, which
aiohttp does not resolve, are checked before the request leaves (`check_url`). Redirects are
never followed (the transport's rule). The transport (`transport.py`) applies both checks to
every request of a public-only client; this module only knows what to refuse.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from ideaforge_gateway.domain.policies.base_url import is_numeric_host, is_public_address

BLOCKED = "not a public address"


class BlockedAddressError(Exception):
    """The request would have reached a loopback, private, link-local or otherwise non-public
    address, or used plain http. The message names the host and the reason, nothing else."""


class PublicOnlyResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, and refuses a name if any address is not public,
    except the `exempt` names: the operator's proxies, which are usually private (the rule is for
    destinations, never for the proxy a request goes through)."""

    def __init__(self, inner: AbstractResolver | None = None, *, exempt: frozenset[str] = frozenset()) -> None:
        self._inner = inner or aiohttp.ThreadedResolver()
        self._exempt = exempt

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if host in self._exempt:
            return results
        for result in results:
            if not is_public_address(ipaddress.ip_address(result["host"])):
                # errno and strerror, so that aiohttp's wrapping keeps the reason in its message.
                raise OSError(errno.EACCES, f"{host} resolves to {BLOCKED}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_url(scheme: str, host: str) -> None:
    """Raise `BlockedAddressError` if a request to `scheme://host` must not leave: plain http, or
    a literal address that is not public. Names pass here and are checked as they resolve."""
    if scheme != "https":
        raise BlockedAddressError(f"only https is allowed for {host}")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        if is_numeric_host(host):
            raise BlockedAddressError(f"{host} is {BLOCKED}") from None
        return
    if not is_public_address(literal):
        raise BlockedAddressError(f"{host} is {BLOCKED}")


def blocked_by_resolver(exc: BaseException, host: str) -> BlockedAddressError | None:
    """The refusal `PublicOnlyResolver` made, as aiohttp reports it (a connection failure whose
    message keeps the resolver's reason), or None for any other failure."""
    if isinstance(exc, aiohttp.ClientConnectorError) and BLOCKED in str(exc):
        return BlockedAddressError(f"{host} resolves to {BLOCKED}")
    return None
