"""The HTTP clients a process shares: httpx's API over one aiohttp session each.

Why aiohttp: on a 2-core machine a passthrough on httpx's default transport served ~200-660
requests/s at 64 concurrent clients, the same passthrough over `httpx-aiohttp` ~2,900
(NOTES-http.md). httpx's API stays for most calls (Auth flows, typed timeouts, httpx-sse); the
calls on every request's path use the session directly (`direct.py`), which saves httpx's layer
(~30 % of the proxy's CPU per request, bench/analysis.md). An aiohttp session binds to the event
loop it is created on, so a client belongs to one event loop: `when_bound` says which.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from ideaforge_gateway.adapters.http.public_only import PublicOnlyResolver, PublicOnlyTransport


@dataclass(frozen=True, slots=True)
class HttpTimeouts:
    """Seconds. `read` bounds each wait for bytes, so it is also a stream's idle timeout."""

    connect: float = 5.0
    read: float = 60.0
    write: float = 30.0
    pool: float = 10.0


class SharedHttpClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` on aiohttp, whose session the direct calls share.

    - Never follows redirects: every request it sends may carry credentials.
    - Keeps no cookies: the client serves every user, so nothing one answer sets may travel
      with the next request.
    - With `public_only`, for URLs users supply: https only, and every address it would connect
      to must be public (`public_only.py`), on both paths.
    """

    def __init__(
        self,
        timeouts: HttpTimeouts = HttpTimeouts(),
        *,
        max_connections: int = 200,
        keepalive_expiry: float = 30.0,
        public_only: bool = False,
    ) -> None:
        self.public_only = public_only
        # The mapping httpx-aiohttp applies to httpx's timeouts, so both paths wait alike.
        self.direct_timeout = aiohttp.ClientTimeout(
            sock_connect=timeouts.connect, sock_read=timeouts.read, connect=timeouts.pool
        )
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_bind: list[Callable[[asyncio.AbstractEventLoop], None]] = []
        limits = httpx.Limits(max_connections=max_connections, keepalive_expiry=keepalive_expiry)
        aiohttp_transport = AiohttpTransport(client=self.session, limits=limits, trust_env=False)
        super().__init__(
            transport=PublicOnlyTransport(aiohttp_transport) if public_only else aiohttp_transport,
            timeout=httpx.Timeout(
                connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool
            ),
            follow_redirects=False,
            trust_env=False,
            cookies=http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(public_only={self.public_only}, bound={self._loop is not None})"

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, created on first use on the running loop, which then owns it."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_expiry,
                ssl=httpx.create_ssl_context(trust_env=False),
                resolver=PublicOnlyResolver() if self.public_only else None,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
            )
            self._loop = asyncio.get_running_loop()
            for callback in self._on_bind:
                callback(self._loop)
        return self._session

    def when_bound(self, callback: Callable[[asyncio.AbstractEventLoop], None]) -> None:
        """Call `callback` with the owning loop once there is one (now, if the client was used)."""
        if self._loop is not None:
            callback(self._loop)
        else:
            self._on_bind.append(callback)

    # httpx closes its transport, which closes the session only if httpx itself used it.
    async def aclose(self) -> None:
        await super().aclose()
        await self._close_session()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await super().__aexit__(exc_type, exc_value, traceback)
        await self._close_session()

    async def _close_session(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def build_http_client(
    timeouts: HttpTimeouts = HttpTimeouts(),
    *,
    max_connections: int = 200,
    keepalive_expiry: float = 30.0,
    public_only: bool = False,
) -> SharedHttpClient:
    """The process's client for the operator's URLs, or with `public_only` for users' URLs."""
    return SharedHttpClient(
        timeouts, max_connections=max_connections, keepalive_expiry=keepalive_expiry, public_only=public_only
    )
