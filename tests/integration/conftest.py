from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from ideaforge_gateway.adapters.http.client import HttpTimeouts, build_http_client
from tests.support.fake_ai_gateway import FakeAIGateway


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = build_http_client(HttpTimeouts(connect=2.0, read=5.0))
    yield client
    await client.aclose()
