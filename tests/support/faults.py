"""Network faults on 127.0.0.1: a TCP proxy that injects them, and an upstream that echoes secrets.

`FaultProxy` sits in front of a real loopback server (the fake AI Gateway, say) and applies one
fault to every connection: added latency, a hang, a reset, a slow drip, a cut mid-way, or a
canned raw HTTP answer (malformed JSON or SSE). It counts the connections clients leave open,
so a test can tell that the gateway closed every one it opened.

`EchoingUpstream` answers every request with an error whose body and headers repeat the
request's headers and body: the worst an upstream can do with the secrets it was sent.

Both run on a loop and thread of their own, like `LoopbackServer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from aiohttp import web

from tests.support.loopback_server import LoopbackServer


class Fault(StrEnum):
    PASS = "pass"
    LATENCY = "latency"
    """Each piece of a request reaches the upstream `latency` seconds late."""
    HANG = "hang"
    """Accept and read, never answer, never close: only the client can end it."""
    RESET = "reset"
    """Read the request head, then close with RST (SO_LINGER 0)."""
    DRIP = "drip"
    """Forward the answer `drip_bytes` at a time, every `drip_interval` seconds."""
    CUT = "cut"
    """Forward `cut_after` bytes of the answer, then drop the connection mid-body."""
    CANNED = "canned"
    """Answer every request with the raw bytes `canned`, then close."""


@dataclass
class ProxyStats:
    accepted: int = 0
    open: int = 0
    requests_seen: int = 0


class _LoopThread:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name=name)

    def start(self) -> None:
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


class FaultProxy:
    """A fault-injecting TCP proxy to `127.0.0.1:upstream_port` (None for CANNED and HANG)."""

    def __init__(
        self,
        upstream_port: int | None = None,
        fault: Fault = Fault.PASS,
        *,
        latency: float = 0.0,
        drip_bytes: int = 64,
        drip_interval: float = 0.02,
        cut_after: int = 0,
        canned: bytes = b"",
    ) -> None:
        self.upstream_port = upstream_port
        self.fault = fault
        self.latency = latency
        self.drip_bytes = drip_bytes
        self.drip_interval = drip_interval
        self.cut_after = cut_after
        self.canned = canned
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._runner = _LoopThread("fault-proxy")
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        with self._lock:
            return self.stats.open

    def __enter__(self) -> Self:
        self._runner.start()
        self._runner.call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._runner.call(self._stop())
        self._runner.stop()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        with self._lock:
            self.stats.accepted += 1
            self.stats.open += 1
        try:
            await self._serve(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)
            with self._lock:
                self.stats.open -= 1
            self._handlers.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fault = self.fault
        if fault is Fault.HANG:
            while await reader.read(65536):  # until the client gives up and closes
                pass
            return
        if fault is Fault.RESET:
            await reader.readuntil(b"\r\n\r\n")
            self._count_request()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        if fault is Fault.CANNED:
            await _read_request(reader)
            self._count_request()
            writer.write(self.canned)
            await writer.drain()
            return
        assert self.upstream_port is not None
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            to_upstream = asyncio.create_task(self._client_to_upstream(reader, up_writer))
            to_client = asyncio.create_task(self._upstream_to_client(up_reader, writer))
            _, pending = await asyncio.wait({to_upstream, to_client}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if fault is Fault.CUT:
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
        finally:
            up_writer.close()

    async def _client_to_upstream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if data.startswith((b"GET ", b"POST ")):
                self._count_request()
            if self.fault is Fault.LATENCY:
                await asyncio.sleep(self.latency)
            writer.write(data)
            await writer.drain()

    async def _upstream_to_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sent = 0
        while data := await reader.read(65536):
            if self.fault is Fault.CUT:
                data = data[: max(0, self.cut_after - sent)]
                if not data:
                    return
            if self.fault is Fault.DRIP:
                for start in range(0, len(data), self.drip_bytes):
                    writer.write(data[start : start + self.drip_bytes])
                    await writer.drain()
                    await asyncio.sleep(self.drip_interval)
            else:
                writer.write(data)
                await writer.drain()
            sent += len(data)
            if self.fault is Fault.CUT and sent >= self.cut_after:
                return

    def _count_request(self) -> None:
        with self._lock:
            self.stats.requests_seen += 1


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return head + (await reader.readexactly(length) if length else b"")


def raw_response(status: str, content_type: str, body: bytes, **headers: str) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection."""
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


MALFORMED_JSON = raw_response("200 OK", "application/json", b'{"id": "x", "choices": [{"message": {"content": ')
MALFORMED_SSE = raw_response(
    "200 OK",
    "text/event-stream",
    b'data: {"id": "x", "choices": [{"delta": {"content": "ha\n\ndata: ]]not json[[\n\ndata: [DONE]\n\n',
)
WRONG_CONTENT_TYPE_SSE = raw_response("200 OK", "text/html", b"<html>a captive portal</html>")
MALFORMED_TOKEN = raw_response("200 OK", "application/json", b'{"access_token": 12, "token_type": ')


class EchoingUpstream:
    """Every route answers `status` with the request's headers and body repeated in the error's
    message, type and code fields, and in response headers: if a secret can leak from an upstream
    error, it leaks here."""

    def __init__(self, status: int = 400, *, echo_in_code: bool = False) -> None:
        self.status = status
        self.echo_in_code = echo_in_code
        """Also put the raw credential (bearer token or API key) where vendors put an error
        identifier (code, type, reason): an upstream that names the key it refused."""
        self.requests = 0
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._echo)
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> Self:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    async def _echo(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = (await request.read()).decode(errors="replace")
        headers = dict(request.headers)
        dump = json.dumps({"headers": headers, "body": body, "query": request.query_string})
        raw = "invalid_request"
        if self.echo_in_code:
            raw = next(
                (headers[h] for h in ("x-api-key", "x-goog-api-key", "X-Api-Key", "X-Goog-Api-Key") if h in headers),
                headers.get("Authorization", "").removeprefix("Bearer "),
            )
        error = {
            "error": {
                "message": dump,
                "type": raw,
                "code": raw,
                "status": raw,
                "details": [{"reason": raw}],
            },
            "error_description": dump,
        }
        if request.path.endswith("/token"):
            error["error"] = raw  # type: ignore[assignment]
        if "/v1/messages" in request.path:
            error = {"type": "error", "error": {"type": raw, "message": dump}}
        echoed = {"X-Echo-" + k.replace("_", "-"): v.replace("\r", " ").replace("\n", " ") for k, v in headers.items()}
        return web.json_response(error, status=self.status, headers={**echoed, "Retry-After": "0"})
