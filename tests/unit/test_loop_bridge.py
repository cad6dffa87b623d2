"""`LoopBridge`: async calls run in place; sync calls reach a running loop, never deadlock or make a loop per call."""

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


async def test_a_sync_call_on_the_owner_thread_is_served_by_the_background_loop(bridge: LoopBridge) -> None:
    bridge.adopt_running_loop()
    # Waiting for the blocked owner would deadlock: the background loop serves it instead.
    assert bridge.call(current_loop) is bridge.background_loop is not asyncio.get_running_loop()
    closed: list[asyncio.AbstractEventLoop] = []
    assert [i for i, _ in bridge.iterate(lambda: counting(2, closed))] == [0, 1]
    assert closed == [bridge.background_loop] and bridge.background_starts == 1


def test_async_calls_run_in_place_on_every_loop(bridge: LoopBridge) -> None:
    background = bridge.call(current_loop)  # sync first: the background loop serves it

    async def elsewhere() -> tuple[bool, list[int]]:
        here = asyncio.get_running_loop()
        closed: list[asyncio.AbstractEventLoop] = []
        items = [i async for i, loop in bridge.aiterate(lambda: counting(3, closed)) if loop is here]
        return await bridge.acall(current_loop) is here and closed == [here], items

    assert asyncio.run(elsewhere()) == (True, [0, 1, 2])
    assert asyncio.run(elsewhere()) == (True, [0, 1, 2])  # a second loop, after the first closed
    assert bridge.call(current_loop) is background  # sync calls keep working afterwards


def test_an_idle_owner_is_passed_over_not_waited_for(bridge: LoopBridge) -> None:
    idle = asyncio.new_event_loop()
    try:
        bridge.adopt(idle)
        assert in_thread(lambda: bridge.call(current_loop), timeout=5) is bridge.background_loop
    finally:
        idle.close()


def test_a_closed_owner_is_replaced_by_the_next_loop(bridge: LoopBridge) -> None:
    first = asyncio.run(bridge.acall(current_loop))
    assert bridge.owner is first and first.is_closed()
    second = asyncio.run(bridge.acall(current_loop))
    assert bridge.owner is second is not first


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
