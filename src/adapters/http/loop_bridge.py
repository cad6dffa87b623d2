"""Run the HTTP clients' coroutines for callers on any thread or loop.

The process's `SharedHttpClient` keeps one aiohttp session per event loop (`client.py`), so async
callers run in place, on their own loop, whichever it is. Synchronous callers (Agno's
`Agent.run`, a worker thread of a web server) need a running loop to do their I/O on; this
module gives them one: the process's main loop while it runs (a server's), else a background
loop of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

from ideaforge_gateway.adapters.http.client import SharedHttpClient

T = TypeVar("T")

_THREAD_NAME = "ideaforge-loop-bridge"
_POLL_SECONDS = 0.5


class OwnerLoopError(RuntimeError):
    """The loop serving a synchronous call stopped before answering it."""


class LoopBridge:
    """Gets coroutines onto a running loop, whoever calls.

    - Async calls (`acall`, `aiterate`) run in place, on the caller's loop: every loop has its
      own HTTP sessions and token refreshes, so any number of loops, one after another
      (`asyncio.run` twice) or at once (threads), work.
    - The *owner* is the loop that serves synchronous calls from other threads while it runs:
      one `adopt`ed explicitly (a server's, at start-up), else the loop of the first async call
      through the bridge or of the first request through a `watch`ed client; a closed owner is
      replaced by the next such loop.
    - Sync calls (`call`, `iterate`) block their thread until a running loop has served them: the
      owner when it is running on another thread, else one background loop thread, started on
      first need and reused by every later call (never a new event loop per call). A sync call
      from the owner's own thread (an `async def` calling `agent.run`) is served by the
      background loop too: it blocks that loop meanwhile, as any synchronous I/O would, but
      cannot deadlock, since nothing it waits for needs the blocked loop.
    - A sync call whose serving loop stops before answering raises `OwnerLoopError` instead of
      waiting forever.
    - Thread-safe; `close()` shuts the background loop down as `asyncio.run` would (its HTTP
      sessions close), if one was started; a later sync call starts another.
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
        """Adopt the first loop that sends a request through `client` (or already did)."""
        client.when_bound(self.adopt)

    # Async callers: in place.
    async def acall(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Await `factory()` on the running loop."""
        self.adopt_running_loop()
        return await factory()

    async def aiterate(self, factory: Callable[[], AsyncGenerator[T, None]]) -> AsyncIterator[T]:
        """Iterate `factory()` on the running loop; closing this iterator closes that one."""
        self.adopt_running_loop()
        source = factory()
        try:
            async for item in source:
                yield item
        finally:
            await source.aclose()

    # Sync callers.
    def call(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run `factory()` on a running loop (see the class) and wait for its result here."""
        loop = self._loop_for_sync()
        return _wait(asyncio.run_coroutine_threadsafe(factory(), loop), loop)

    def iterate(self, factory: Callable[[], AsyncGenerator[T, None]]) -> Iterator[T]:
        """Iterate `factory()` on a running loop from this thread, one item at a time."""
        loop = self._loop_for_sync()
        source = factory()
        try:
            while True:
                step = _wait(asyncio.run_coroutine_threadsafe(_step(source), loop), loop)
                if step is None:
                    return
                yield step[0]
        finally:
            if loop.is_running():
                _wait(asyncio.run_coroutine_threadsafe(source.aclose(), loop), loop)

    def close(self) -> None:
        """Shut the background loop down (its tasks cancelled, its async generators and so its
        HTTP sessions closed) and stop its thread, if one was started."""
        with self._lock:
            loop, thread = self._background, self._thread
            self._background = self._thread = None
            if loop is not None and self._owner is loop:
                self._owner = None
        if loop is None or thread is None:
            return
        if threading.current_thread() is thread:
            loop.call_soon(loop.stop)  # cannot wait for itself; it stops after this callback
            return
        # If it stopped on its own meanwhile, what it held is released with it.
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(_shut_down(loop), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        if not thread.is_alive():
            loop.close()

    # Choosing the loop.
    def _loop_for_sync(self) -> asyncio.AbstractEventLoop:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        with self._lock:
            owner = self._owner
            if owner is not None and owner is not running and owner.is_running():
                return owner
            return self._start_background()

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


async def _shut_down(loop: asyncio.AbstractEventLoop) -> None:
    """What `asyncio.run` does before closing its loop: cancel what still runs, then close the
    async generators (the HTTP sessions' closers among them)."""
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks(loop) if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await loop.shutdown_asyncgens()


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
                raise OwnerLoopError("the event loop serving this call stopped before answering") from None
