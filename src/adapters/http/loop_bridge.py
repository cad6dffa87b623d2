"""Run the shared HTTP client's coroutines for callers on any thread or loop.

The process's `SharedHttpClient` sits on aiohttp, whose session binds to the event loop of its
first request (`client.py`): every request through it must then run on that loop, its *owner*.
Synchronous callers (Agno's `Agent.run`, a worker thread of a web server) and callers on another
loop need a way onto the owner; this is it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

from ideaforge_gateway.adapters.http.client import SharedHttpClient

T = TypeVar("T")

_THREAD_NAME = "ideaforge-loop-bridge"
_POLL_SECONDS = 0.5
_IDLE_OWNER = (
    "the event loop that owns the HTTP client is not running, so it cannot serve this call: "
    "make the calls from one event loop, or from synchronous code and worker threads only"
)


class OwnerLoopError(RuntimeError):
    """The owner loop cannot serve this call: a synchronous call from the owner's own thread (waiting
    would deadlock), a call while the owner exists but is not running (it would never run), or a
    sync call whose owner stopped before answering."""


class LoopBridge:
    """Gets coroutines onto the owner loop, whoever calls.

    - The owner is the first loop seen: the loop of the first request through a `watch`ed client,
      the loop of the first async call through the bridge, a loop `adopt`ed explicitly, or, when a
      synchronous call comes first, the bridge's own background loop.
    - Async calls on the owner run in place; on another loop they run on the owner and are
      awaited from the caller's loop.
    - Sync calls block their thread until the owner has run them. With no owner yet (or a closed
      one) they use one background loop thread, started on first need and reused by every later
      call: never a new event loop per call.
    - A sync call from the owner loop's own thread raises `OwnerLoopError` at once instead of
      deadlocking; so does any call while the owner exists but is not running, and a sync call
      whose owner stops before answering (instead of waiting forever).
    - Thread-safe; `close()` stops the background loop, if one was started.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: asyncio.AbstractEventLoop | None = None
        self._background: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.background_starts = 0
        """How many background loops were started: 0 or 1 for a bridge's lifetime, unless closed."""

    def __repr__(self) -> str:
        return f"LoopBridge(owner={'set' if self._owner else 'none'}, background={self._background is not None})"

    @property
    def owner(self) -> asyncio.AbstractEventLoop | None:
        return self._owner

    @property
    def background_loop(self) -> asyncio.AbstractEventLoop | None:
        return self._background

    def adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """Make `loop` the owner if there is none yet (or the current one is closed)."""
        with self._lock:
            if self._owner is None or self._owner.is_closed():
                self._owner = loop

    def adopt_running_loop(self) -> None:
        """`adopt` the loop running this coroutine's thread: call it at a server's start-up."""
        self.adopt(asyncio.get_running_loop())

    def watch(self, client: SharedHttpClient) -> None:
        """Adopt the loop `client` is bound to: the loop of its first request, whoever sends it,
        or the loop it already runs on if it was used before the bridge existed."""
        client.when_bound(self.adopt)

    # Async callers.
    async def acall(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Await `factory()` on the owner loop."""
        owner = self._owner_for_async()
        if owner is asyncio.get_running_loop():
            return await factory()
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(factory(), owner))

    async def aiterate(self, factory: Callable[[], AsyncGenerator[T, None]]) -> AsyncIterator[T]:
        """Iterate `factory()` on the owner loop; closing this iterator closes that one there."""
        owner = self._owner_for_async()
        source = factory()
        if owner is asyncio.get_running_loop():
            try:
                async for item in source:
                    yield item
            finally:
                await source.aclose()
            return
        try:
            while True:
                step = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_step(source), owner))
                if step is None:
                    return
                yield step[0]
        finally:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(source.aclose(), owner))

    # Sync callers.
    def call(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run `factory()` on the owner loop and wait for its result in this thread."""
        owner = self._owner_for_sync()
        return _wait(asyncio.run_coroutine_threadsafe(factory(), owner), owner)

    def iterate(self, factory: Callable[[], AsyncGenerator[T, None]]) -> Iterator[T]:
        """Iterate `factory()` on the owner loop from this thread, one item at a time."""
        owner = self._owner_for_sync()
        source = factory()
        try:
            while True:
                step = _wait(asyncio.run_coroutine_threadsafe(_step(source), owner), owner)
                if step is None:
                    return
                yield step[0]
        finally:
            if owner.is_running():
                _wait(asyncio.run_coroutine_threadsafe(source.aclose(), owner), owner)

    def close(self) -> None:
        """Stop the background loop and its thread, if started; later sync calls start another."""
        with self._lock:
            loop, thread = self._background, self._thread
            self._background = self._thread = None
            if loop is not None and self._owner is loop:
                self._owner = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if threading.current_thread() is not thread:
            thread.join(5)
            loop.close()

    # Choosing the loop.
    def _owner_for_async(self) -> asyncio.AbstractEventLoop:
        running = asyncio.get_running_loop()
        with self._lock:
            if self._owner is None or self._owner.is_closed():
                self._owner = running
            owner = self._owner
        if owner is not running and not owner.is_running():
            raise OwnerLoopError(_IDLE_OWNER)
        return owner

    def _owner_for_sync(self) -> asyncio.AbstractEventLoop:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        with self._lock:
            if self._owner is None or self._owner.is_closed():
                self._owner = self._start_background()
            owner = self._owner
        if owner is running:
            raise OwnerLoopError(
                "a synchronous model call was made on the event loop that owns the HTTP client, where waiting "
                "for it would deadlock: use the async API (`await agent.arun(...)`) or call it from a worker "
                "thread (`await asyncio.to_thread(agent.run, ...)`)"
            )
        if not owner.is_running():
            raise OwnerLoopError(_IDLE_OWNER)
        return owner

    def _start_background(self) -> asyncio.AbstractEventLoop:
        """Caller holds the lock."""
        if self._background is None:
            loop = asyncio.new_event_loop()
            started = threading.Event()
            loop.call_soon(started.set)
            thread = threading.Thread(target=loop.run_forever, name=_THREAD_NAME, daemon=True)
            thread.start()
            started.wait(5)
            self._background, self._thread = loop, thread
            self.background_starts += 1
        return self._background


_default: LoopBridge | None = None
_default_lock = threading.Lock()


def default_bridge() -> LoopBridge:
    """The process-wide bridge, for models built without one."""
    global _default
    with _default_lock:
        if _default is None:
            _default = LoopBridge()
        return _default


async def _step(source: AsyncIterator[T]) -> tuple[T] | None:
    """The next item, boxed, or None at the end: StopAsyncIteration must not cross loops."""
    try:
        return (await anext(source),)
    except StopAsyncIteration:
        return None


def _wait(future: concurrent.futures.Future[T], owner: asyncio.AbstractEventLoop) -> T:
    """The future's result; if the owner loop stops first, `OwnerLoopError` instead of waiting
    forever for an answer that will never come."""
    while True:
        try:
            return future.result(timeout=_POLL_SECONDS)
        except TimeoutError:
            if future.done():
                raise  # the coroutine's own TimeoutError
            if not owner.is_running():
                future.cancel()
                raise OwnerLoopError("the event loop that owns the HTTP client stopped before answering") from None
