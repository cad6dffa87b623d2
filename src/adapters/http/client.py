"""The aiohttp sessions a process shares, one per kind of URL (the operator's, the users').

Why aiohttp: on a 2-core machine it is the fastest Python client measured for a proxy's load
(NOTES-http.md, bench/analysis.md). An aiohttp session binds to the event loop it is created on,
so a client belongs to one event loop: `when_bound` says which. Requests go through the
transport (`transport.py`), never through the session directly.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiohttp
import certifi

from ideaforge_gateway.adapters.http.public_only import PublicOnlyResolver


@dataclass(frozen=True, slots=True)
class HttpTimeouts:
    """Seconds. `read` bounds each wait for bytes, so it is also a stream's idle timeout; `pool`
    bounds the wait for a connection, including connecting."""

    connect: float = 5.0
    read: float = 60.0
    write: float = 30.0
    pool: float = 10.0


class SharedHttpClient:
    """The session and its settings.

    - Keeps no cookies: the client serves every user, so nothing one answer sets may travel
      with the next request. Reads no proxy or netrc settings from the environment.
    - With `public_only`, for URLs users supply: names resolve through `PublicOnlyResolver`, and
      the transport checks literal addresses and the scheme before a request leaves.
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
        self.timeout = aiohttp.ClientTimeout(
            sock_connect=timeouts.connect, sock_read=timeouts.read, connect=timeouts.pool
        )
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_bind: list[Callable[[asyncio.AbstractEventLoop], None]] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(public_only={self.public_only}, bound={self._loop is not None})"

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, created on first use on the running loop, which then owns it."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_expiry,
                # Mozilla's CA bundle, as httpx used before: the same trust on every machine.
                ssl=ssl.create_default_context(cafile=certifi.where()),
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

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()


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
