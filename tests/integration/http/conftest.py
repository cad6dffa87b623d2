from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer

OPENAI_KEY = "sk-env-openai-canary"


@pytest.fixture
def env_gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_id="env-client", client_secret="env-secret-canary") as server:
        yield server


@pytest.fixture
def user_gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_id="alice-client-canary", client_secret="alice-secret-canary+/:=") as server:
        yield server


@pytest.fixture
def server(tmp_path: Path, env_gateway: FakeAIGateway) -> Iterator[LiveServer]:
    container = container_for(
        tmp_path,
        ai_gateway_client_id="env-client",
        ai_gateway_client_secret="env-secret-canary",
        ai_gateway_base_url=env_gateway.url,
        ai_gateway_enabled=False,
        ideaforge_allow_private_base_urls=True,
    )
    with LiveServer(container) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
