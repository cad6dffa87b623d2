"""The shared HTTP client on any number of event loops: the transport's requests (plain and
credentialed) on each, sessions closed with their loop, and usable again after `aclose`."""

from __future__ import annotations

import asyncio
import threading

from pydantic import SecretStr
from yarl import URL

from ideaforge_gateway.adapters.http.client import HttpTimeouts, build_http_client
from ideaforge_gateway.adapters.http.token_auth import HeaderAuth
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.domain.models import ProviderName
from tests.support.fake_ai_gateway import FakeAIGateway

GW = ProviderName.AI_GATEWAY


def test_every_loop_gets_its_own_session_closed_when_the_loop_ends(gateway: FakeAIGateway) -> None:
    client = build_http_client(HttpTimeouts(connect=2.0, read=5.0))
    transport = HttpTransport(client)
    discovery = URL(f"{gateway.url}/.well-known/openid-configuration")
    gateway.state.api_key = "sk-loops"
    auth = HeaderAuth("Authorization", "Bearer ", SecretStr("sk-loops"))

    async def both_kinds() -> tuple[int, int]:
        plain = await transport.send("GET", discovery, provider=GW, what="discovery")
        credentialed = await transport.send("GET", URL(f"{gateway.url}/v1/models"), provider=GW, what="list", auth=auth)
        return plain.status, credentialed.status

    for _ in range(3):
        assert asyncio.run(both_kinds()) == (200, 200)
        assert len(client.sessions) == 0
    assert client.sessions.opened == 3

    answers: list[tuple[int, int]] = []
    threads = [threading.Thread(target=lambda: answers.append(asyncio.run(both_kinds()))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert answers == [(200, 200)] * 3 and len(client.sessions) == 0


async def test_aclose_releases_the_sessions_and_the_client_stays_usable(gateway: FakeAIGateway) -> None:
    client = build_http_client(HttpTimeouts(connect=2.0, read=5.0))
    transport = HttpTransport(client)
    discovery = URL(f"{gateway.url}/.well-known/openid-configuration")
    assert (await transport.send("GET", discovery, provider=GW, what="discovery")).status == 200
    assert len(client.sessions) == 1
    await transport.aclose()
    assert len(client.sessions) == 0
    assert (await transport.send("GET", discovery, provider=GW, what="discovery")).status == 200  # a new session
    await transport.aclose()
