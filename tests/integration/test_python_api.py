"""The seed's Python API as a host application uses it: `from ideaforge_gateway import ...`, on the
environment's configuration, for users, and directly from credentials; on any event loop."""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from agno.agent import Agent
from agno.run.base import RunStatus
from pydantic import SecretStr

import ideaforge_gateway
from ideaforge_gateway import AIGatewayClient, AIGatewayModel, provider_registry
from ideaforge_gateway.application.use_cases.configure_provider import ConfigureRequest
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import AuthenticationError, ConfigurationError, UnknownUserError
from ideaforge_gateway.domain.models import ChatMessage, ChatRequest, ProviderName
from tests.support.fake_ai_gateway import MODELS, FakeAIGateway

_VENDOR_VARIABLES = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "IDEAFORGE_DATABASE_URL",
    "IDEAFORGE_ENCRYPTION_KEYS",
    "AI_GATEWAY_TOKEN_URL",
    "AI_GATEWAY_AUTH_METHOD",
    "AI_GATEWAY_OPENAI_BASE_URL",
)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, gateway: FakeAIGateway) -> Iterator[Path]:
    """The host's environment: the AI Gateway enabled (the loopback one), and nothing else."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in _VENDOR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AI_GATEWAY_CLIENT_ID", gateway.state.client_id)
    monkeypatch.setenv("AI_GATEWAY_CLIENT_SECRET", gateway.state.client_secret)
    monkeypatch.setenv("AI_GATEWAY_BASE_URL", gateway.url)
    monkeypatch.setenv("AI_GATEWAY_ENABLED", "true")
    monkeypatch.setenv("IDEAFORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AGNO_TELEMETRY", "false")
    monkeypatch.setenv("IDEAFORGE_ALLOW_PRIVATE_BASE_URLS", "true")  # users' gateways on loopback
    yield tmp_path / "data"
    ideaforge_gateway.close()


async def seed_snippet() -> list[str]:
    """The seed document's snippet, as written there."""
    if provider_registry.has_ai_gateway():
        client = provider_registry.get_ai_gateway_client()
        models = await client.list_models()
        return [m.id for m in models]
    return []


def ask(text: str) -> ChatRequest:
    return ChatRequest(model="gpt-4o", messages=[ChatMessage(role="user", content=text)])


def test_the_seed_snippet_runs_twice_on_two_loops_without_opening_the_database(
    environment: Path, gateway: FakeAIGateway
) -> None:
    assert asyncio.run(seed_snippet()) == MODELS
    assert asyncio.run(seed_snippet()) == MODELS
    assert gateway.state.token_requests == 1
    assert not environment.exists()  # the environment alone needs no database, no key file
    ideaforge_gateway.close()
    assert asyncio.run(seed_snippet()) == MODELS  # usable again after closing


def test_without_the_ai_gateway_the_registry_says_so(environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_GATEWAY_ENABLED", "false")
    assert provider_registry.has_ai_gateway() is False
    with pytest.raises(ConfigurationError, match="AI_GATEWAY_ENABLED=true"):
        provider_registry.get_ai_gateway_client()


async def test_a_user_gets_their_own_gateway_and_an_unknown_user_an_error(environment: Path) -> None:
    container = ideaforge_gateway.get_container()
    alice, _ = container.user_store().create("alice")
    with FakeAIGateway(client_id="alice-svc", client_secret="alice-secret") as own:
        await container.configure_provider().execute(
            ConfigureRequest(
                alice.id,
                ProviderCredentials(
                    ProviderName.AI_GATEWAY, SecretStr("alice-svc"), SecretStr("alice-secret"), base_url=own.url
                ),
            )
        )
        for user in ("alice", alice.id):  # a name or an id
            assert provider_registry.for_user(user).has_ai_gateway()
            models = await provider_registry.get_ai_gateway_client(user_id=user).list_models()
            assert [m.id for m in models] == MODELS
        assert own.state.token_requests == 1
    for call in (
        lambda: provider_registry.for_user("nobody"),
        lambda: provider_registry.has_ai_gateway(user_id="nobody"),
        lambda: provider_registry.get_ai_gateway_client(user_id="nobody"),
    ):
        with pytest.raises(UnknownUserError, match="'nobody' does not exist"):
            call()
    container.user_store().revoke("alice")
    with pytest.raises(UnknownUserError, match="'alice' has been revoked"):
        provider_registry.for_user("alice")


async def test_a_client_made_directly_from_credentials(environment: Path, gateway: FakeAIGateway) -> None:
    with FakeAIGateway(client_id="other", client_secret="other-secret", discovery="none") as other:
        client = AIGatewayClient("other", SecretStr("other-secret"), other.url, token_url=f"{other.url}/oauth/token")
        assert "other-secret" not in repr(client) and other.url in repr(client)
        assert [m.id for m in await client.verify()] == MODELS
        assert (await client.chat(ask("direct"))).content == "echo: direct"
        pieces = [d.content async for d in client.stream(ask("streamed here")) if d.content]
        assert "".join(pieces) == "echo: streamed here"
        with pytest.raises(ConfigurationError, match="token endpoint not found"):
            await AIGatewayClient("other", "other-secret", other.url).list_models()  # no discovery there
        with pytest.raises(AuthenticationError):
            await AIGatewayClient("other", "wrong", other.url, token_url=f"{other.url}/oauth/token").list_models()
    # No base URL: the environment's gateway, with its settings.
    assert [m.id for m in await AIGatewayClient("svc-client", "svc-secret").list_models()] == MODELS
    with pytest.raises(ConfigurationError, match="base_url must be an http"):
        AIGatewayClient("a", "b", "ftp://example.invalid")
    with pytest.raises(ConfigurationError, match="auth_method must be one of"):
        AIGatewayClient("a", "b", auth_method="guess")


def test_the_model_from_an_id_alone_sync_and_async(
    environment: Path, gateway: FakeAIGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGNO_TELEMETRY")
    agent = Agent(model=AIGatewayModel(id="gpt-4o"))
    assert os.environ["AGNO_TELEMETRY"] == "false"  # Agno's telemetry stays off unless the operator says
    assert agent.run("sync").content == "echo: sync"
    assert asyncio.run(agent.arun("async")).content == "echo: async"
    assert asyncio.run(agent.arun("async again")).content == "echo: async again"
    assert gateway.state.last_chat_body is not None and gateway.state.last_chat_body["model"] == "gpt-4o"
    copied = copy.deepcopy(agent.model)  # as Agno copies fallback and memory models
    assert Agent(model=copied, telemetry=False).run("the copy").content == "echo: the copy"
    assert gateway.state.token_requests == 1


def test_the_model_as_an_agno_fallback(environment: Path, gateway: FakeAIGateway) -> None:
    with FakeAIGateway(client_id="down", client_secret="down-secret", chat_failures=[503] * 10) as down:
        primary = AIGatewayModel(id="gpt-4o", client_id="down", client_secret="down-secret", base_url=down.url)
        agent = Agent(model=primary, fallback_models=[AIGatewayModel(id="gpt-4o-mini")], telemetry=False)
        output = agent.run("fall over")
        assert output.status is RunStatus.completed and output.content == "echo: fall over"
        assert asyncio.run(agent.arun("async fall over")).content == "echo: async fall over"
        assert down.state.chat_requests >= 2
    assert gateway.state.last_chat_body is not None and gateway.state.last_chat_body["model"] == "gpt-4o-mini"


def test_the_model_with_credentials_hides_them(environment: Path, gateway: FakeAIGateway) -> None:
    model = AIGatewayModel(id="gpt-4o", client_id="svc-client", client_secret="svc-secret", base_url=gateway.url)
    assert "svc-secret" not in repr(model) and "svc-client" not in repr(model)
    assert asyncio.run(Agent(model=model, telemetry=False).arun("with credentials")).content == (
        "echo: with credentials"
    )
    with pytest.raises(ConfigurationError, match="together"):
        AIGatewayModel(id="gpt-4o", client_id="only-the-id")


def test_the_model_for_an_unknown_user_fails_naming_them(environment: Path, gateway: FakeAIGateway) -> None:
    output = Agent(model=AIGatewayModel(id="gpt-4o", user_id="nobody"), telemetry=False).run("who?")
    assert output.status is RunStatus.error and "'nobody' does not exist" in str(output.content)
    assert gateway.state.chat_requests == 0  # never the environment's credentials instead


def test_importing_the_package_or_its_domain_stays_cheap() -> None:
    probe = (
        "import sys, ideaforge_gateway, ideaforge_gateway.domain.models\n"
        "heavy = [m for m in ('agno', 'aiohttp', 'dependency_injector', 'sqlalchemy', "
        "'ideaforge_gateway.entrypoints.container') if m in sys.modules]\n"
        "print('HEAVY:', heavy)\n"
        "from ideaforge_gateway import provider_registry\n"
        "print('AGNO:', 'agno' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "HEAVY: []" in done.stdout and "AGNO: False" in done.stdout
