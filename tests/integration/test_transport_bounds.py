"""The transport reads no more of an answer than it may: a huge body is refused while it is read,
the connection dropped, and the error falls over like a malformed answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web
from pydantic import SecretStr
from yarl import URL

from ideaforge_gateway.adapters.ai_gateway.oauth2_client_credentials_token_source import (
    OAuth2ClientCredentialsTokenSource,
)
from ideaforge_gateway.adapters.http.client import build_http_client
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.domain.errors import ProviderUnavailableError
from ideaforge_gateway.domain.models import ProviderName
from tests.support.loopback_server import LoopbackServer

LIMIT = 64 << 10
CHUNK = b"x" * (16 << 10)


class Huge:
    """Answers with endless bodies; records when a client dropped the connection mid-body."""

    def __init__(self) -> None:
        self.dropped = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        app = web.Application()
        app.router.add_get("/declared", self._declared)
        app.router.add_get("/endless", self._endless)
        app.router.add_post("/token", self._endless)
        app.router.add_get("/small", self._small)
        self.server = LoopbackServer(app)

    async def _declared(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (LIMIT * 4), content_type="application/json")

    async def _small(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            while True:
                await response.write(CHUNK)
        except (ConnectionError, asyncio.CancelledError):
            self.dropped_from_server()
            raise

    def dropped_from_server(self) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.dropped.set)


@pytest.fixture
async def huge() -> AsyncIterator[Huge]:
    server = Huge()
    server.loop = asyncio.get_running_loop()
    server.server.start()
    yield server
    server.server.stop()


@pytest.fixture
def bounded() -> Iterator[HttpTransport]:
    yield HttpTransport(build_http_client(), max_response_bytes=LIMIT)


async def test_a_body_declared_too_large_is_refused_without_reading_it(huge: Huge, bounded: HttpTransport) -> None:
    try:
        with pytest.raises(ProviderUnavailableError, match=f"too large \\(over {LIMIT} bytes") as raised:
            await bounded.send("GET", URL(f"{huge.server.url}/declared"), provider=ProviderName.OPENAI, what="chat")
        assert raised.value.may_fall_over and not raised.value.looks_down
        small = await bounded.send("GET", URL(f"{huge.server.url}/small"), provider=ProviderName.OPENAI, what="chat")
        assert small.status == 200 and small.body == b'{"ok": true}'
    finally:
        await bounded.aclose()


async def test_an_endless_body_is_cut_while_it_is_read_and_the_connection_dropped(
    huge: Huge, bounded: HttpTransport
) -> None:
    try:
        with pytest.raises(ProviderUnavailableError, match="IDEAFORGE_MAX_RESPONSE_BYTES"):
            await bounded.send("GET", URL(f"{huge.server.url}/endless"), provider=ProviderName.OPENAI, what="chat")
        await asyncio.wait_for(huge.dropped.wait(), 10)  # the server saw the connection go
    finally:
        await bounded.aclose()


async def test_a_call_may_bound_its_answer_tighter_but_never_looser(huge: Huge, bounded: HttpTransport) -> None:
    url = URL(f"{huge.server.url}/declared")
    try:
        with pytest.raises(ProviderUnavailableError, match="over 1024 bytes"):
            await bounded.send("GET", url, provider=ProviderName.OPENAI, what="chat", max_bytes=1024)
        with pytest.raises(ProviderUnavailableError, match=f"over {LIMIT} bytes"):
            await bounded.send("GET", url, provider=ProviderName.OPENAI, what="chat", max_bytes=LIMIT * 100)
    finally:
        await bounded.aclose()


async def test_a_token_answer_has_its_own_small_cap(huge: Huge) -> None:
    # The process-wide bound is far larger: the token endpoint's cap is what stops this one.
    transport = HttpTransport(build_http_client())
    source = OAuth2ClientCredentialsTokenSource(
        transport,
        client_id=SecretStr("id"),
        client_secret=SecretStr("secret"),
        issuer_url=huge.server.url,
        token_url=f"{huge.server.url}/token",
        max_attempts=1,
    )
    try:
        with pytest.raises(ProviderUnavailableError, match="token request failed: the answer is too large"):
            await source.token()
        await asyncio.wait_for(huge.dropped.wait(), 10)
    finally:
        await transport.aclose()
