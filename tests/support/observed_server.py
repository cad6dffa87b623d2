"""`LiveServer` whose event loop a test can look into: how many tasks it is running."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import uvicorn

from ideaforge_gateway.entrypoints.container import Container
from tests.support.live_server import LiveServer


class _LoopRecordingServer(uvicorn.Server):
    loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: Any = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)


class ObservedLiveServer(LiveServer):
    def __init__(self, container: Container) -> None:
        super().__init__(container)
        self._server = _LoopRecordingServer(self._server.config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="live-server")

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert isinstance(self._server, _LoopRecordingServer) and self._server.loop is not None
        return self._server.loop

    def tasks(self) -> int:
        """Tasks on the server's loop, besides uvicorn's own main task and this probe."""

        async def count() -> int:
            me = asyncio.current_task()
            return sum(1 for t in asyncio.all_tasks() if t is not me and not t.done())

        return int(asyncio.run_coroutine_threadsafe(count(), self.loop).result(5))

    def tasks_settled(self, baseline: int, timeout: float = 3.0) -> int:
        """Tasks over `baseline` once they stop going away, waiting at most `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            excess = self.tasks() - baseline
            if excess <= 0 or time.monotonic() > deadline:
                return excess
            time.sleep(0.05)
