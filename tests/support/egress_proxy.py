"""An egress proxy on 127.0.0.1 that records what it was asked to reach: `CONNECT host:port`
tunnels (https) and absolute-URI requests (http, forwarded to the origin). Runs on its own
thread and loop, like `LoopbackServer`."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Self


class EgressProxy:
    def __init__(self) -> None:
        self.seen: list[str] = []
        """One entry per client request line: "CONNECT 127.0.0.1:5000" or "POST http://...".
        A tunnel is listed once, however many requests it carries."""
        self.proxy_authorization: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="egress-proxy")
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _shutdown(self) -> None:
        """Stop listening and end the connections still open (their tasks), so none is left pending."""
        if self._server is not None:
            self._server.close()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        self.seen.append(f"{method} {target}")
        headers = [line for line in lines[1:] if line]
        for line in headers:
            if line.lower().startswith("proxy-authorization:"):
                self.proxy_authorization.append(line.split(":", 1)[1].strip())
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        else:
            rest = target.split("://", 1)[1]
            authority, _, path = rest.partition("/")
            host, _, port = authority.partition(":")
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port or 80))
            # One request per connection ("Connection: close"), so every request is seen.
            kept = [line for line in headers if not line.lower().startswith(("proxy-", "connection:"))]
            request = "\r\n".join([f"{method} /{path} {version}", *kept, "Connection: close", "", ""])
            upstream_writer.write(request.encode("latin-1"))
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    with contextlib.suppress(ConnectionError, OSError):
        sink.close()
