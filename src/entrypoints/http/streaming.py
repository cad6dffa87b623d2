"""Streamed answers that let go of their upstream the moment the client does, and that end when
their authority does (a revoked token) or when they reach the operator's bounds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi.responses import StreamingResponse
from starlette.types import Send

from ideaforge_gateway.domain.config import StreamBounds
from ideaforge_gateway.entrypoints.http.errors import ApiError


class ClosingStreamingResponse(StreamingResponse):
    """A `StreamingResponse` that closes its body however the response ends.

    Starlette leaves the body generator to the garbage collector when the client goes away
    mid-stream; closing it at once releases the upstream stream (and stops its tokens) now,
    whatever the collector's thresholds.
    """

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            await aclose(self.body_iterator)


async def aclose(iterator: object) -> None:
    """Close an async generator (or anything with `aclose`); other iterators need nothing."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


ErrorEvent = Callable[[str, str], bytes]
"""Builds the route's error event from a message and a kind."""


async def bounded(
    events: AsyncIterator[bytes],
    bounds: StreamBounds,
    still_authorized: Callable[[], Awaitable[bool]],
    error_event: ErrorEvent,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[bytes]:
    """`events`, ended with `error_event(...)` (and `events` closed, releasing the upstream) when:
    - the caller's API token no longer authenticates (revoked): checked between events, at most
      every `bounds.recheck_seconds`, off the event loop (`still_authorized`);
    - the stream has lasted `bounds.max_seconds`, whether events flow or not;
    - the next event would take it past `bounds.max_bytes`.
    The timeout wraps only the wait for the next event (never a yield), so cancelling on expiry
    touches only the upstream's read.
    """
    started = clock()
    checked = started
    sent = 0
    try:
        while True:
            remaining = started + bounds.max_seconds - clock()
            if remaining <= 0:
                yield error_event(_too_long(bounds), "stream_limit")
                return
            if bounds.idle_timeout is not None and remaining > bounds.idle_timeout:
                # The idle timeout ends any wait before the maximum could pass: no timer needed
                # (one per event costs ~6 us, more than the rest of this loop together).
                chunk = await anext(events, None)
            else:
                try:
                    async with asyncio.timeout(remaining) as scope:
                        chunk = await anext(events, None)
                except TimeoutError:
                    if not scope.expired():
                        raise
                    yield error_event(_too_long(bounds), "stream_limit")
                    return
            if chunk is None:
                return
            if sent + len(chunk) > bounds.max_bytes:
                yield error_event(f"the stream reached its maximum size of {bounds.max_bytes} bytes", "stream_limit")
                return
            now = clock()
            if now - checked >= bounds.recheck_seconds:
                checked = now
                try:
                    authorized = await still_authorized()
                except ApiError as exc:  # the database is unavailable: see `authorization_check`
                    yield error_event(exc.message, exc.kind)
                    return
                if not authorized:
                    yield error_event("the API token was revoked while the answer streamed", "unauthorized")
                    return
            sent += len(chunk)
            yield chunk
    finally:
        await aclose(events)


def _too_long(bounds: StreamBounds) -> str:
    return f"the stream reached its maximum duration of {bounds.max_seconds:g} s"
