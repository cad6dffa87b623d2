from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from ideaforge_gateway.adapters.http.client import HttpTimeouts, build_http_client
from ideaforge_gateway.adapters.http.transport import HttpTransport
from tests.support.fake_ai_gateway import FakeAIGateway


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[HttpTransport]:
    transport = HttpTransport(build_http_client(HttpTimeouts(connect=2.0, read=5.0)))
    yield transport
    await transport.aclose()
