"""The stream guard on its own, with a fake clock (issue 18, case 10)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ideaforge_gateway.domain.config import StreamBounds
from ideaforge_gateway.entrypoints.http.streaming import bounded


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _error(message: str, kind: str) -> bytes:
    return f"error:{kind}:{message}".encode()


async def _collect(events: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in events]


async def test_a_stream_that_passes_its_maximum_duration_between_events_ends() -> None:
    clock = Clock()
    closed: list[bool] = []

    async def events() -> AsyncIterator[bytes]:
        try:
            for _ in range(10):
                clock.now += 40.0  # each event takes 40 s; the idle timeout (60 s) is never reached
                yield b"chunk"
        finally:
            closed.append(True)

    async def authorized() -> bool:
        return True

    bounds = StreamBounds(max_seconds=100.0, idle_timeout=60.0)
    out = await _collect(bounded(events(), bounds, authorized, _error, clock=clock))
    assert out[:3] == [b"chunk"] * 3 and out[-1].startswith(b"error:stream_limit:") and len(out) == 4
    assert closed == [True]  # the upstream was released


async def test_revocation_is_checked_at_most_every_recheck_seconds() -> None:
    clock = Clock()
    checks: list[float] = []

    async def events() -> AsyncIterator[bytes]:
        for _ in range(100):
            clock.now += 1.0
            yield b"x"

    async def authorized() -> bool:
        checks.append(clock.now)
        return clock.now < 30.0

    bounds = StreamBounds(recheck_seconds=10.0)
    out = await _collect(bounded(events(), bounds, authorized, _error, clock=clock))
    assert checks == [10.0, 20.0, 30.0]
    assert out[-1].startswith(b"error:unauthorized:") and out.count(b"x") == 29
