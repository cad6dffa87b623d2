"""The aiohttp sessions a process shares, one per kind of URL (the operator's, the users') and
per event loop.

Why aiohttp: on a 2-core machine it is the fastest Python client measured for a proxy's load
(NOTES-http.md, bench/analysis.md). Requests go through the transport (`transport.py`), never
through a session directly.

An aiohttp session belongs to the event loop it was made on, while the process's client outlives
loops: a script runs `asyncio.run` twice, a notebook or a test suite makes a loop per cell or
test, sync callers use a background loop (`loop_bridge.py`). So the client keeps one session per
running loop, made on first use there, and closes it when that loop shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiohttp
from yarl import URL

from ideaforge_gateway.adapters.http.network import ProxyRules, build_ssl_context
from ideaforge_gateway.adapters.http.public_only import BLOCKED, BlockedAddressError, PublicOnlyResolver


@dataclass(frozen=True, slots=True)
class HttpTimeouts:
    """Seconds. `read` bounds each wait for bytes, so it is also a stream's idle timeout; `pool`
    bounds the wait for a connection, including connecting."""

    connect: float = 5.0
    read: float = 60.0
    write: float = 30.0
    pool: float = 10.0


class LoopSessions:
    """One aiohttp session per event loop, each made on first use on its loop.

    - `current()` is the running loop's session (a new one if there was none or it was closed).
    - A loop's session closes as the loop shuts down: it is tied to the loop's async-generator
      shutdown, which `asyncio.run`, `asyncio.Runner`, pytest-asyncio and uvicorn all perform
      before closing a loop, so nothing warns of an unclosed session or connector.
    - A loop closed without that shutdown (`loop.close()` by hand) has its session released
      (connections dropped, no warning) the next time any loop asks for a session, or at `aclose`.
    - Thread-safe: loops on different threads each get their own.
    """

    def __init__(self, make: Callable[[], aiohttp.ClientSession]) -> None:
        self._make = make
        self._lock = threading.Lock()
        # Weak keys, and entries dropped as their loop shuts down: a finished loop is not kept alive.
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = weakref.WeakKeyDictionary()
        self.on_new_loop: list[Callable[[asyncio.AbstractEventLoop], None]] = []
        # The last answer, read without the lock: every request asks, almost always on the same loop.
        self._last: tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession] | None = None
        self.opened = 0
        """Sessions made so far: for tests and diagnostics."""

    def __len__(self) -> int:
        """Sessions open now."""
        with self._lock:
            return sum(1 for entry in self._by_loop.values() if not entry.session.closed)

    def loops(self) -> list[asyncio.AbstractEventLoop]:
        """The loops whose session is open, oldest first."""
        with self._lock:
            return [loop for loop, entry in self._by_loop.items() if not entry.session.closed and not loop.is_closed()]

    def current(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0] is loop and not last[1].closed:
            return last[1]
        with self._lock:
            entry = self._by_loop.get(loop)
            if entry is not None and not entry.session.closed:
                self._last = (loop, entry.session)
                return entry.session
            stale = self._drop_closed_loops()
            entry = self._by_loop[loop] = _LoopSession(self._make(), self)
            self._last = (loop, entry.session)
            self.opened += 1
        _release(stale)
        entry.close_at_shutdown()
        for callback in self.on_new_loop:
            callback(loop)
        return entry.session

    async def aclose(self) -> None:
        """Close every session: this loop's here, another running loop's on that loop, a closed
        loop's by releasing it. A session of a loop that exists but is not running is left to
        close when that loop shuts down."""
        with self._lock:
            entries = list(self._by_loop.items())
        running = asyncio.get_running_loop()
        for loop, entry in entries:
            if loop is running:
                await entry.session.close()
            elif loop.is_closed():
                _release([entry.session])
            elif loop.is_running():
                try:
                    closing = asyncio.run_coroutine_threadsafe(entry.session.close(), loop)
                    await asyncio.wait_for(asyncio.wrap_future(closing), 5)
                except (RuntimeError, TimeoutError):
                    _release([entry.session])  # the loop stopped meanwhile
        with self._lock:
            self._drop_closed_loops()

    def forget(self, entry: _LoopSession) -> None:
        with self._lock:
            if self._last is not None and self._last[1] is entry.session:
                self._last = None  # it must not keep a finished loop alive
            for loop, known in list(self._by_loop.items()):
                if known is entry:
                    del self._by_loop[loop]

    def _drop_closed_loops(self) -> list[aiohttp.ClientSession]:
        """Caller holds the lock. The sessions of loops closed without shutting down, unlinked."""
        gone = [loop for loop in self._by_loop if loop.is_closed()]
        return [self._by_loop.pop(loop).session for loop in gone]


class _LoopSession:
    """A session, and the async generator that closes it when its loop shuts its generators down."""

    def __init__(self, session: aiohttp.ClientSession, owner: LoopSessions) -> None:
        self.session = session
        self._owner = owner
        self._closer: AsyncGenerator[None, None] | None = None

    def close_at_shutdown(self) -> None:
        """Start the closer up to its `yield` in place: calling its `asend` registers it with the
        running loop (the loop's first-iteration hook), which then closes it at shutdown."""
        closer = self._closer = self._close_when_done()
        step = closer.asend(None)
        with contextlib.suppress(StopIteration):  # raised once it is suspended at its yield
            step.send(None)

    async def _close_when_done(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            self._owner.forget(self)
            await self.session.close()


def _release(sessions: list[aiohttp.ClientSession]) -> None:
    """Let go of sessions whose loop is closed: their connections cannot be closed on it any more,
    so they are dropped (the connector's own bookkeeping for a closed loop) and the session detached."""
    for session in sessions:
        if session.closed:
            continue
        connector = session.connector
        if connector is not None:
            connector._close()  # aiohttp's synchronous close, which handles a closed loop
        session.detach()


class SharedHttpClient:
    """The sessions and their settings.

    - Keeps no cookies: the client serves every user, so nothing one answer sets may travel
      with the next request. Reads no netrc; proxies only as `proxy` says (`network.py`).
    - Trust: one SSL context for the client's life (`network.build_ssl_context`): the system's
      store, certifi and the operator's CA bundles.
    - `proxy`: the rules that choose a proxy per URL (`route`). A public-only client going
      through a proxy checks the destination's addresses itself before sending (the proxy,
      not the connector, then connects to it), and never applies the rule to the proxy.
    - With `public_only`, for URLs users supply: names resolve through `PublicOnlyResolver`, and
      the transport checks literal addresses and the scheme before a request leaves.
    - Works on any event loop, any number of them over the process's life (`LoopSessions`).
      `aclose()` releases every session, and the client stays usable: a later request opens a
      new session on its loop, so closing at the end of one `asyncio.run` does not break the next.
    """

    def __init__(
        self,
        timeouts: HttpTimeouts = HttpTimeouts(),
        *,
        max_connections: int = 200,
        keepalive_expiry: float = 30.0,
        public_only: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        proxy: ProxyRules | None = None,
    ) -> None:
        self.public_only = public_only
        self.ssl_context = ssl_context or build_ssl_context()
        self.proxy = proxy
        # The proxies' names: the connector's public-only resolver lets them through.
        self._exempt = frozenset(host for url in (proxy.proxies.values() if proxy else ()) if (host := URL(url).host))
        self.timeout = aiohttp.ClientTimeout(
            sock_connect=timeouts.connect, sock_read=timeouts.read, connect=timeouts.pool
        )
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self.sessions = LoopSessions(self._new_session)

    def __repr__(self) -> str:
        proxy = self.proxy.describe() if self.proxy is not None else "no proxy"
        return f"{type(self).__name__}(public_only={self.public_only}, {proxy}, sessions={len(self.sessions)})"

    async def route(self, url: URL) -> str | None:
        """The proxy URL for `url`, or None to connect directly. A public-only client checks here
        a destination the connector's resolver will not: one reached through a proxy, or a proxy's
        own name (exempt there). Raises `BlockedAddressError` if any address is not public or the
        name does not resolve (then it cannot be checked)."""
        proxy = self.proxy.proxy_for(url) if self.proxy is not None else None
        host = url.host
        if not self.public_only or host is None or (proxy is None and host not in self._exempt):
            return proxy
        try:
            await PublicOnlyResolver().resolve(host, url.port or 0)
        except OSError as exc:
            if BLOCKED in str(exc):
                raise BlockedAddressError(f"{host} resolves to {BLOCKED}") from None
            raise BlockedAddressError(f"{host} does not resolve here, so it cannot be checked as public") from None
        return proxy

    def session(self) -> aiohttp.ClientSession:
        """The running loop's aiohttp session, made on first use there."""
        return self.sessions.current()

    def when_bound(self, callback: Callable[[asyncio.AbstractEventLoop], None]) -> None:
        """Call `callback` with each loop that has a session on this client: those that have one
        now, then each that opens one."""
        for loop in self.sessions.loops():
            callback(loop)
        self.sessions.on_new_loop.append(callback)

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            keepalive_timeout=self._keepalive_expiry,
            ssl=self.ssl_context,
            resolver=PublicOnlyResolver(exempt=self._exempt) if self.public_only else None,
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)

    async def aclose(self) -> None:
        """Release every session; the client stays usable (see above)."""
        await self.sessions.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.sessions.aclose()


def build_http_client(
    timeouts: HttpTimeouts = HttpTimeouts(),
    *,
    max_connections: int = 200,
    keepalive_expiry: float = 30.0,
    public_only: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    proxy: ProxyRules | None = None,
) -> SharedHttpClient:
    """The process's client for the operator's URLs, or with `public_only` for users' URLs."""
    return SharedHttpClient(
        timeouts,
        max_connections=max_connections,
        keepalive_expiry=keepalive_expiry,
        public_only=public_only,
        ssl_context=ssl_context,
        proxy=proxy,
    )
