"""`GET /api/models?catalog=true`, the enriched `/api/models`, verify's warnings and the
classification policy's 403, through the real app and loopback servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.http.conftest import bearer
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.fake_catalog import INSTANCE, FakeCatalog
from tests.support.live_server import LiveServer

SECRET = "env-secret-canary"


@pytest.fixture
def catalog() -> Iterator[FakeCatalog]:
    with FakeCatalog(client_id="env-client", client_secret=SECRET) as server:
        yield server


def serve(tmp_path: Path, gateway: FakeAIGateway, catalog_url: str | None, **extra: Any) -> LiveServer:
    settings: dict[str, Any] = {
        "ai_gateway_client_id": "env-client",
        "ai_gateway_client_secret": SECRET,
        "ai_gateway_base_url": gateway.url,
        "ai_gateway_enabled": True,
        **extra,
    }
    if catalog_url is not None:
        settings |= {  # the OpenAI-compatible route overridden back to the loopback gateway
            "ai_gateway_instance_id": INSTANCE,
            "ai_gateway_catalog_url": catalog_url,
            "ai_gateway_openai_base_url": f"{gateway.url}/v1",
        }
    return LiveServer(container_for(tmp_path, **settings))


def test_the_catalog_with_prices_and_classification_and_the_provider_filter(
    tmp_path: Path, env_gateway: FakeAIGateway, catalog: FakeCatalog
) -> None:
    with serve(tmp_path, env_gateway, catalog.url) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        auth = bearer(live.create_user("alice"))
        listed = client.get("/api/models", params={"catalog": "true"}, headers=auth)
        assert listed.status_code == 200, listed.text
        first = listed.json()["models"][0]
        assert first == {
            "id": "gpt-4o",
            "provider": "ai_gateway",
            "price": {"input": 2.5, "output": 10.0, "unit": "USD per million tokens"},
            "classification": "Green",
            "family": "openai",
            "endpoint": "openai-chat",
        }
        only = client.get("/api/models", params={"catalog": "true", "provider": "anthropic"}, headers=auth)
        assert [(m["id"], m["classification"]) for m in only.json()["models"]] == [
            ("claude-sonnet-4-5-20250929", "Red")
        ]
        assert catalog.state.seen_providers[-1] == "anthropic"

        plain = {m["id"]: m for m in client.get("/api/models", headers=auth).json()["models"]}
        assert plain["gpt-4o-mini"]["price"] == {"input": 0.15, "output": 0.6, "unit": "USD per million tokens"}
        assert plain["gpt-4-turbo"]["price"] is None and plain["gpt-4-turbo"]["classification"] is None

        stray = client.get("/api/models", params={"provider": "openai"}, headers=auth)
        assert stray.status_code == 400 and stray.json()["param"] == "provider"

        verified = client.post("/api/providers/verify", json={"provider": "ai_gateway"}, headers=auth)
        assert verified.json()["valid"] is True
        assert [w.split(":")[-1].strip() for w in verified.json()["warnings"]] == [
            "change AI_GATEWAY_PREMIUM_MODEL to one it offers"
        ]


@pytest.mark.parametrize(("fault", "status"), [({"client_secret": "other"}, 502), ({"failure": 500}, 503)])
def test_a_catalog_that_does_not_answer_is_a_clear_502_or_503(
    tmp_path: Path, env_gateway: FakeAIGateway, fault: dict[str, Any], status: int
) -> None:
    with (
        FakeCatalog(**{"client_id": "env-client", "client_secret": SECRET, **fault}) as failing,
        serve(tmp_path, env_gateway, failing.url) as live,
        httpx.Client(base_url=live.url, timeout=30) as client,
    ):
        auth = bearer(live.create_user("alice"))
        answer = client.get("/api/models", params={"catalog": "true"}, headers=auth)
        assert answer.status_code == status
        assert "model catalog" in answer.json()["error"] and SECRET not in answer.text
        # The plain list still answers, without prices.
        plain = client.get("/api/models", headers=auth)
        assert plain.status_code == 200 and all(m["price"] is None for m in plain.json()["models"])


def test_without_an_instance_the_catalog_is_a_409_naming_the_setting(
    tmp_path: Path, env_gateway: FakeAIGateway
) -> None:
    with serve(tmp_path, env_gateway, None) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        answer = client.get("/api/models", params={"catalog": "true"}, headers=bearer(live.create_user("alice")))
    assert answer.status_code == 409 and "AI_GATEWAY_INSTANCE_ID" in answer.json()["error"]


def test_a_model_above_the_classification_policy_is_a_403_naming_the_model_and_the_policy(
    tmp_path: Path, env_gateway: FakeAIGateway, catalog: FakeCatalog
) -> None:
    with (
        serve(tmp_path, env_gateway, catalog.url, ai_gateway_max_classification="1") as live,
        httpx.Client(base_url=live.url, timeout=30) as client,
    ):
        auth = bearer(live.create_user("alice"))
        # The catalog is read at first use, behind the requests; its listing warms it here.
        listed = client.get("/api/models", params={"catalog": "true"}, headers=auth).json()["models"]
        assert "claude-sonnet-4-5-20250929" not in [m["id"] for m in listed]
        body = {"model": "claude-sonnet-4-5-20250929", "messages": [{"role": "user", "content": "hi"}]}
        refused = client.post("/v1/chat/completions", json=body, headers=auth)
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "policy_refused"
    assert "'claude-sonnet-4-5-20250929' is classified Red (2)" in error["message"]
    assert "AI_GATEWAY_MAX_CLASSIFICATION=Yellow (1)" in error["message"]
    assert env_gateway.state.chat_requests == 0
