"""The real app under uvicorn on 127.0.0.1, in a thread, for API tests through real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn

from ideaforge_gateway.entrypoints.container import Container
from ideaforge_gateway.entrypoints.http.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """`start_key`: as `ideaforge serve` passes it, for `/healthz`'s proof (`start_proof`)."""

    def __init__(self, container: Container, *, start_key: str | None = None) -> None:
        self.container = container
        self.port = free_port()
        config = uvicorn.Config(
            create_app(container, start_key=start_key),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="live-server")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving (a client then sees its connections refused); safe to call twice."""
        self._server.should_exit = True
        self._thread.join(10)

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def create_user(self, name: str) -> str:
        _, token = self.container.user_store().create(name)
        return token.get_secret_value()
