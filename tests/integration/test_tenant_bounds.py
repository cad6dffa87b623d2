"""One tenant cannot starve the others (issue 18, case 3): a user holding 300 streams open at
their own base URL gets the per-user bound's worth and a clear 429 for the rest, while another
user's requests to their own healthy upstream keep succeeding.

Before the bounds, all users' own base URLs shared one pool of 200 connections with nothing per
user: 210 held streams by one user made another user's healthy upstream time out."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr

from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.models import ProviderName
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer
from tests.support.loopback_server import LoopbackServer

HELD_STREAMS = 300
PER_USER = 64  # the setting's default, named here so the test says what it expects
HANG = 60.0
"""Only catches a hang: no verdict depends on how fast anything is."""


def _chunk(content: str, finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": {"content": content}, "finish_reason": finish}
    body = {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o", "choices": [choice]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class Upstream:
    """OpenAI-compatible. With `hold`, a stream sends its first words and then waits for
    `release` (on the server's loop); otherwise it answers at once."""

    def __init__(self, *, hold: bool) -> None:
        self.hold = hold
        self.release: asyncio.Event | None = None
        self.open_streams = 0
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        self.server = LoopbackServer(app)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = await request.json()
        if not body.get("stream"):
            message = {"role": "assistant", "content": "fine"}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return web.json_response({"id": "c", "object": "chat.completion", "model": "gpt-4o", "choices": [choice]})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_chunk("held " if self.hold else "fine"))
        if self.hold:
            if self.release is None:
                self.release = asyncio.Event()
            self.open_streams += 1
            try:
                await self.release.wait()
            finally:
                self.open_streams -= 1
        with contextlib.suppress(ConnectionError):  # a client that left while held: nothing to end
            await response.write(_chunk("", "stop") + b"data: [DONE]\n\n")
        return response

    def let_go(self) -> None:
        def set_release() -> None:
            if self.release is not None:
                self.release.set()

        self.server.call_soon(set_release)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[LiveServer, Upstream, str, str]]:
    hog, healthy = Upstream(hold=True), Upstream(hold=False)
    with hog.server, healthy.server:
        container = container_for(tmp_path, ideaforge_allow_private_base_urls=True)
        with LiveServer(container) as server:
            tokens = []
            for name, upstream in (("hog", hog), ("neighbour", healthy)):
                user, token = container.user_store().create(name)
                credentials = ProviderCredentials(
                    ProviderName.OPENAI, SecretStr(f"sk-{name}"), base_url=f"{upstream.server.url}/v1"
                )
                container.credential_store().save(user.id, credentials)
                tokens.append(token.get_secret_value())
            try:
                yield server, hog, tokens[0], tokens[1]
            finally:
                hog.let_go()


async def _hold_stream(session: aiohttp.ClientSession, url: str, token: str, held: asyncio.Event) -> tuple[int, str]:
    """Open a stream; if it is admitted, keep it open until `held` is set. (status, first text)."""
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hold"}]}
    async with session.post(f"{url}/v1/chat/completions", json=body, headers=_auth(token)) as response:
        if response.status != 200:
            return response.status, await response.text()
        first = (await response.content.readuntil(b"\n\n")).decode()
        await held.wait()
        return response.status, first


async def _neighbour_chat(session: aiohttp.ClientSession, url: str, token: str, stream: bool) -> str:
    body = {"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    async with session.post(f"{url}/v1/chat/completions", json=body, headers=_auth(token)) as response:
        text = await response.text()
        assert response.status == 200, text
        return text


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_one_user_holding_300_streams_leaves_another_users_requests_working(
    world: tuple[LiveServer, Upstream, str, str],
) -> None:
    server, hog, hog_token, neighbour_token = world
    held = asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        hogging = [asyncio.create_task(_hold_stream(session, server.url, hog_token, held)) for _ in range(HELD_STREAMS)]
        try:
            async with asyncio.timeout(HANG):
                # The hog's streams are all open or refused (retries included) before the neighbour asks.
                while hog.open_streams < PER_USER or sum(t.done() for t in hogging) < HELD_STREAMS - PER_USER:
                    await asyncio.sleep(0.05)
                answers = await asyncio.gather(
                    *(_neighbour_chat(session, server.url, neighbour_token, stream=n % 2 == 0) for n in range(20))
                )
        finally:
            held.set()
            hog.let_go()
            results = await asyncio.gather(*hogging)
    assert all("fine" in answer for answer in answers)
    admitted = [first for status, first in results if status == 200]
    refused = [text for status, text in results if status != 200]
    assert len(admitted) == PER_USER
    assert all("held" in first for first in admitted)
    assert {status for status, _ in results if status != 200} == {429}
    assert all("IDEAFORGE_USER_MAX_CONCURRENT_REQUESTS" in text for text in refused)


def test_an_ai_gateway_request_is_not_refused_by_its_own_token_fetch(tmp_path: Path) -> None:
    """The OAuth2 token fetched before a chat request rides on that request's slot: with a bound of
    one request per user, the user's AI Gateway still answers (discovery and token included)."""
    with FakeAIGateway(client_id="svc", client_secret="shh") as gateway:
        container = container_for(
            tmp_path, ideaforge_allow_private_base_urls=True, ideaforge_user_max_concurrent_requests=1
        )
        with LiveServer(container) as server:
            user, token = container.user_store().create("gatewayuser")
            credentials = ProviderCredentials(
                ProviderName.AI_GATEWAY, SecretStr("svc"), SecretStr("shh"), base_url=gateway.url
            )
            container.credential_store().save(user.id, credentials)
            body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
            answer = httpx.post(
                f"{server.url}/v1/chat/completions",
                json=body,
                headers=_auth(token.get_secret_value()),
                timeout=HANG,
            )
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-ideaforge-provider"] == "ai_gateway"
