"""Two loopback providers (the AI Gateway, then OpenAI) behind the real app, with canary secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ideaforge_gateway.entrypoints.container import Container
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway

GATEWAY_SECRET = "canary-gateway-secret-7f3a91"
OPENAI_KEY = "sk-canary-openai-key-51c2e8"
OPERATOR_TOKEN = "canary-operator-token-0d9b44"
CANARIES = (GATEWAY_SECRET, OPENAI_KEY, OPERATOR_TOKEN)


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_secret=GATEWAY_SECRET) as server:
        yield server


@pytest.fixture
def openai() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(api_key=OPENAI_KEY) as server:
        yield server


def observed_container(tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway, **settings: Any) -> Container:
    values: dict[str, Any] = {
        "ai_gateway_client_id": gateway.state.client_id,
        "ai_gateway_client_secret": GATEWAY_SECRET,
        "ai_gateway_base_url": gateway.url,
        "ai_gateway_enabled": True,
        "openai_api_key": OPENAI_KEY,
        "openai_base_url": f"{openai.url}/v1",
        "ideaforge_deadline_seconds": 10.0,
        **settings,
    }
    return container_for(tmp_path, **values)


def samples(exposition: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of a Prometheus text exposition: (name, labels, value)."""
    return [
        (s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    ]


def value(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 if none)."""
    return sum(v for n, ls, v in samples(exposition) if n == name and all(ls.get(k) == w for k, w in labels.items()))
