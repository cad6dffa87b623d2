"""Verify ends within the deadline, like every other operation, even when the token endpoint
accepts the connection and never answers (three read timeouts, 180 s, before); so does a call
of the AI Gateway's own Agno model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agno.agent import Agent
from agno.run.base import RunStatus
from pydantic import SecretStr

from ideaforge_gateway.application.use_cases.configure_provider import ConfigureRequest
from ideaforge_gateway.application.use_cases.verify_credentials import VerifyRequest
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.entrypoints.container import close
from tests.support.app import container_for
from tests.support.cli import run_cli
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.faults import Fault, FaultProxy
from tests.support.live_server import LiveServer

DEADLINE = 0.5
GUARD = 30.0
"""Only a hang guard: far below the 180 s of three read timeouts, far above the deadline."""


@pytest.fixture
def silent() -> Iterator[FaultProxy]:
    """Accepts every connection, reads the request, never answers."""
    with FakeAIGateway() as gateway, FaultProxy(gateway.server.port, Fault.HANG) as proxy:
        yield proxy


async def test_the_use_case_and_configure_verify_stop_at_the_deadline(
    tmp_path: Path, gateway: FakeAIGateway, silent: FaultProxy
) -> None:
    container = container_for(
        tmp_path,
        ai_gateway_client_id=gateway.state.client_id,
        ai_gateway_client_secret=gateway.state.client_secret,
        ai_gateway_base_url=gateway.url,
        ai_gateway_token_url=f"{silent.url}/oauth/token",
        ideaforge_deadline_seconds=DEADLINE,
        ideaforge_allow_private_base_urls=True,
    )
    try:
        async with asyncio.timeout(GUARD):
            result = await container.verify_credentials().execute(VerifyRequest(ProviderName.AI_GATEWAY))
        assert not result.valid and result.error_kind == "unavailable"
        assert (
            result.error == "ai_gateway did not answer within the deadline of 0.5 s (set by IDEAFORGE_DEADLINE_SECONDS)"
        )

        alice, _ = container.user_store().create("alice")
        hanging = ProviderCredentials(
            ProviderName.AI_GATEWAY, SecretStr("id"), SecretStr("secret"), base_url=silent.url
        )
        async with asyncio.timeout(GUARD):
            configured = await container.configure_provider().execute(
                ConfigureRequest(alice.id, hanging, verify_first=True)
            )
        assert configured.stored is None and configured.verification is not None
        assert "did not answer within the deadline of 0.5 s" in (configured.verification.error or "")
    finally:
        await close(container)


def test_the_http_route_stops_at_the_deadline(tmp_path: Path, silent: FaultProxy) -> None:
    container = container_for(tmp_path, ideaforge_deadline_seconds=DEADLINE, ideaforge_allow_private_base_urls=True)
    with LiveServer(container) as server, httpx.Client(base_url=server.url, timeout=GUARD) as client:
        token = server.create_user("alice")
        body = {"provider": "ai_gateway", "api_key": "id", "client_secret": "secret", "base_url": silent.url}
        answer = client.post("/api/providers/verify", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json()["valid"] is False and "did not answer within the deadline of 0.5 s" in answer.json()["error"]


def test_the_cli_stops_at_the_deadline(tmp_path: Path, gateway: FakeAIGateway, silent: FaultProxy) -> None:
    env = {
        "AI_GATEWAY_CLIENT_ID": gateway.state.client_id,
        "AI_GATEWAY_CLIENT_SECRET": gateway.state.client_secret,
        "AI_GATEWAY_BASE_URL": gateway.url,
        "AI_GATEWAY_TOKEN_URL": f"{silent.url}/oauth/token",
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
        "IDEAFORGE_DEADLINE_SECONDS": "1",
    }
    done = run_cli("providers", "verify", "ai_gateway", env=env, cwd=tmp_path, timeout=GUARD)
    assert done.code == 1, done.output
    assert (
        done.stderr.strip()
        == "error: ai_gateway did not answer within the deadline of 1 s (set by IDEAFORGE_DEADLINE_SECONDS)"
    )


def test_the_ai_gateway_model_stops_at_the_deadline_too(
    tmp_path: Path, gateway: FakeAIGateway, silent: FaultProxy
) -> None:
    # A sibling: the AI Gateway alone, one attempt per call, bounded like the provider chain.
    container = container_for(
        tmp_path,
        ai_gateway_client_id=gateway.state.client_id,
        ai_gateway_client_secret=gateway.state.client_secret,
        ai_gateway_base_url=gateway.url,
        ai_gateway_token_url=f"{silent.url}/oauth/token",
        ai_gateway_enabled=True,
        ideaforge_deadline_seconds=DEADLINE,
    )
    try:
        agent = Agent(model=container.ai_gateway_model(), telemetry=False)
        output = agent.run("anyone?")
        assert output.status is RunStatus.error and "did not answer within the deadline of 0.5 s" in str(output.content)
        events = list(agent.run("anyone, streamed?", stream=True))
        assert any("did not answer within the deadline of 0.5 s" in str(getattr(e, "content", "")) for e in events)
        assert gateway.state.chat_requests == 0
    finally:
        asyncio.run(close(container))
