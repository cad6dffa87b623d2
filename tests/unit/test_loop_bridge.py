"""`LoopBridge`: every call lands on the owner loop; sync callers never deadlock or spawn loops."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from ideaforge_gateway.adapters.http.loop_bridge import LoopBridge, OwnerLoopError
from tests.support.agents import in_thread, in_thread_async


async def current_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


async def counting(n: int, closed: list[asyncio.AbstractEventLoop]) -> AsyncIterator[tuple[int, object]]:
    try:
        for i in range(n):
            yield i, asyncio.get_running_loop()
    finally:
        closed.append(asyncio.get_running_loop())


@pytest.fixture
def bridge() -> Iterator[LoopBridge]:
    bridge = LoopBridge()
    yield bridge
    bridge.close()


def test_sync_calls_share_one_background_loop(bridge: LoopBridge) -> None:
    loops = {bridge.call(current_loop) for _ in range(5)}
    loops |= {in_thread(lambda: bridge.call(current_loop)) for _ in range(3)}
    assert loops == {bridge.background_loop} and bridge.background_starts == 1


def test_sync_iteration_runs_on_the_owner_and_closes_there(bridge: LoopBridge) -> None:
    closed: list[asyncio.AbstractEventLoop] = []
    items = list(bridge.iterate(lambda: counting(3, closed)))
    assert [i for i, _ in items] == [0, 1, 2]
    assert {loop for _, loop in items} == {bridge.background_loop} == set(closed)
    early = bridge.iterate(lambda: counting(10, closed))
    next(early)
    early.close()  # stopping early closes the source on the owner loop
    assert len(closed) == 2


async def test_async_calls_claim_the_running_loop_and_run_in_place(bridge: LoopBridge) -> None:
    assert await bridge.acall(current_loop) is asyncio.get_running_loop() is bridge.owner
    assert bridge.background_starts == 0


async def test_sync_calls_from_a_worker_thread_run_on_the_owner(bridge: LoopBridge) -> None:
    bridge.adopt_running_loop()
    assert await in_thread_async(lambda: bridge.call(current_loop)) is asyncio.get_running_loop()
    closed: list[asyncio.AbstractEventLoop] = []
    items = await in_thread_async(lambda: list(bridge.iterate(lambda: counting(2, closed))))
    assert {loop for _, loop in items} == {asyncio.get_running_loop()}
    assert bridge.background_starts == 0


async def test_a_sync_call_on_the_owner_thread_raises_instead_of_deadlocking(bridge: LoopBridge) -> None:
    bridge.adopt_running_loop()
    with pytest.raises(OwnerLoopError, match="deadlock"):
        bridge.call(current_loop)


def test_async_calls_on_another_loop_are_served_by_the_owner(bridge: LoopBridge) -> None:
    owner = bridge.call(current_loop)  # sync first: the background loop owns

    async def elsewhere() -> tuple[asyncio.AbstractEventLoop, list[int]]:
        closed: list[asyncio.AbstractEventLoop] = []
        items = [i async for i, loop in bridge.aiterate(lambda: counting(3, closed)) if loop is owner]
        return await bridge.acall(current_loop), items

    assert asyncio.run(elsewhere()) == (owner, [0, 1, 2])


def test_an_idle_owner_is_refused_not_waited_for(bridge: LoopBridge) -> None:
    idle = asyncio.new_event_loop()
    try:
        bridge.adopt(idle)
        with pytest.raises(OwnerLoopError, match="not running"):
            in_thread(lambda: bridge.call(current_loop), timeout=5)
    finally:
        idle.close()


def test_a_sync_call_whose_owner_stops_fails_instead_of_hanging(bridge: LoopBridge) -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    while not loop.is_running():
        time.sleep(0.01)
    bridge.adopt(loop)
    threading.Timer(0.2, lambda: loop.call_soon_threadsafe(loop.stop)).start()
    try:
        with pytest.raises(OwnerLoopError, match="stopped before answering"):
            in_thread(lambda: bridge.call(lambda: asyncio.sleep(30)), timeout=5)
    finally:
        thread.join(5)
        loop.run_until_complete(asyncio.sleep(0.01))  # let the cancelled sleep finish
        loop.close()


def test_close_stops_the_background_thread(bridge: LoopBridge) -> None:
    bridge.call(current_loop)
    thread_names = {t.name for t in threading.enumerate()}
    assert "ideaforge-loop-bridge" in thread_names
    loop = bridge.background_loop
    bridge.close()
    assert loop is not None and loop.is_closed() and bridge.owner is None
    assert bridge.call(current_loop) is bridge.background_loop and bridge.background_starts == 2
