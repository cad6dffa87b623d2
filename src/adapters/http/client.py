"""The one `httpx.AsyncClient` a process shares, on aiohttp's transport.

Why aiohttp under httpx: on a 2-core machine a passthrough on httpx's default transport served
~200-660 requests/s at 64 concurrent clients, the same passthrough over `httpx-aiohttp` ~2,900
(NOTES-http.md). httpx's API stays (Auth flows, httpx-sse, typed timeouts); only the transport
changes. Its aiohttp session binds to the event loop of its first request, so a client belongs
to one event loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from httpx_aiohttp import AiohttpTransport

from adapters.http.public_only import public_only_transport


@dataclass(frozen=True, slots=True)
class HttpTimeouts:
    """Seconds. `read` bounds each wait for bytes, so it is also a stream's idle timeout."""

    connect: float = 5.0
    read: float = 60.0
    write: float = 30.0
    pool: float = 10.0


def build_http_client(
    timeouts: HttpTimeouts = HttpTimeouts(),
    *,
    max_connections: int = 200,
    keepalive_expiry: float = 30.0,
    public_only: bool = False,
) -> httpx.AsyncClient:
    """A client that never follows redirects: every request it sends may carry credentials.

    With `public_only`, for URLs users supply: https only, and every address it would connect
    to must be public (see `public_only.py`).
    """
    limits = httpx.Limits(max_connections=max_connections, keepalive_expiry=keepalive_expiry)
    transport: httpx.AsyncBaseTransport = (
        public_only_transport(limits) if public_only else AiohttpTransport(limits=limits, trust_env=False)
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool),
        follow_redirects=False,
        trust_env=False,
    )
