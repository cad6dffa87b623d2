"""Real Agno agents over the real container, against loopback AI Gateway and OpenAI stand-ins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ideaforge_gateway.entrypoints.container import Container, close
from tests.support.agents import OPENAI_KEY, settings_for
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway


@pytest.fixture(autouse=True)
def _no_agno_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGNO_TELEMETRY", "false")


@pytest.fixture
def openai() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(api_key=OPENAI_KEY) as server:
        yield server


@pytest.fixture
async def app(tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway) -> AsyncIterator[Container]:
    """The gateway first, OpenAI behind it; closed on this test's loop."""
    container = container_for(tmp_path, **settings_for(gateway, openai))
    yield container
    await close(container)


@pytest.fixture
def sync_app(tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway) -> Iterator[Container]:
    """The same, for plain synchronous tests (no event loop in the test's thread)."""
    container = container_for(tmp_path, **settings_for(gateway, openai))
    yield container
    asyncio.run(close(container))
