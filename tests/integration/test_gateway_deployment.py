"""The AI Gateway as its users deploy it: one instance id derives every family's route.

Loopback servers play the per-family hosts (`FakeGatewayHosts`, reached through a route template
that points at them) and the gateway's token endpoint (`FakeAIGateway`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import ideaforge_gateway
from ideaforge_gateway import AIGatewayClient, provider_registry
from ideaforge_gateway.application.use_cases.configure_provider import ConfigureRequest
from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.domain.credentials import AuthMethod, ProviderCredentials
from ideaforge_gateway.domain.errors import ConfigurationError, InvalidRequestError, ModelNotFoundError
from ideaforge_gateway.domain.models import ChatMessage, ChatRequest, ProviderName
from ideaforge_gateway.entrypoints.container import Container, close
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_gateway_hosts import FakeGatewayHosts

FAMILY_OF = {
    "gpt-4o-mini": "openai",
    "claude-sonnet-4-5-20250929": "anthropic",
    "gemini-2.5-pro": "google-gemini",
    "azure/gpt-4o": "azure",
}


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(accept_static_key=True) as server:
        yield server


@pytest.fixture
def hosts(gateway: FakeAIGateway) -> Iterator[FakeGatewayHosts]:
    with FakeGatewayHosts(gateway, instances=("inst-1", "inst-2", "inst-3")) as server:
        yield server


def operator(tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts, **settings: Any) -> Container:
    values: dict[str, Any] = {
        "ai_gateway_client_id": gateway.state.client_id,
        "ai_gateway_client_secret": gateway.state.client_secret,
        "ai_gateway_base_url": gateway.url,
        "ai_gateway_enabled": True,
        "ai_gateway_instance_id": "inst-1",
        "ai_gateway_route_template": hosts.template,
        "ideaforge_allow_private_base_urls": True,
        **settings,
    }
    return container_for(tmp_path, **values)


def ask(model: str, user_id: str | None = None, text: str = "hello") -> GenerateRequest:
    return GenerateRequest(messages=[ChatMessage("user", text)], model=model, user_id=user_id)


async def test_an_instance_id_derives_every_familys_route(
    tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts
) -> None:
    container = operator(tmp_path, gateway, hosts)
    try:
        for model in FAMILY_OF:
            answer = await container.generate_reply().execute(ask(model, text=f"to {model}"))
            assert answer.response.provider is ProviderName.AI_GATEWAY
            assert answer.response.content == f"echo: to {model}"
        models = await container.registry().get_ai_gateway_client(None).list_models()
    finally:
        await close(container)
    chats = [hit for hit in hosts.hits if hit.body is not None]
    assert [hit.family for hit in chats] == list(FAMILY_OF.values())
    assert {(hit.where, hit.instance_id, hit.header) for hit in hosts.hits} == {("prod", "inst-1", "Authorization")}
    assert [hit.path for hit in chats] == [
        "/v1/chat/completions",
        "/v1/messages",
        "/v1beta/models/gemini-2.5-pro:generateContent",
        "/openai/deployments/gpt-4o/chat/completions",
    ]
    azure = chats[-1]
    assert azure.query == {"api-version": "2024-10-21"}
    assert azure.body is not None and azure.body["model"] == "gpt-4o"  # the deployment, as Azure's SDK sends it
    assert hosts.hits[-1].path == "/v1/models" and "gpt-4o" in [m.id for m in models]
    assert gateway.state.token_requests == 1  # one OAuth2 token, for every family
    assert gateway.state.chat_requests == 0  # nothing went to the base URL's own /v1


async def test_env_region_and_api_version_shape_the_routes(
    tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts
) -> None:
    container = operator(
        tmp_path,
        gateway,
        hosts,
        ai_gateway_env="dev",
        ai_gateway_region="EU",
        ai_gateway_azure_api_version="2024-04-01-preview",
    )
    try:
        await container.generate_reply().execute(ask("gpt-4o-mini"))
        answer = await container.generate_reply().execute(ask("azure/gpt-4o-mini"))
    finally:
        await close(container)
    assert answer.response.model == "gpt-4o-mini-2024-07-18"  # as Azure names what the deployment runs
    assert [(hit.family, hit.where) for hit in hosts.hits] == [("openai", "eu.dev"), ("azure", "eu.dev")]
    assert hosts.hits[-1].query == {"api-version": "2024-04-01-preview"}


async def test_each_family_route_stays_overridable(
    tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts
) -> None:
    bearer = f"{gateway.state.client_id}:{gateway.state.client_secret}"
    with FakeAnthropic(prefix="/elsewhere", bearer=bearer) as anthropic:
        container = operator(
            tmp_path,
            gateway,
            hosts,
            ai_gateway_auth_method="static_key",
            ai_gateway_anthropic_base_url=anthropic.url,
            ai_gateway_openai_base_url=f"{gateway.url}/v1",
        )
        try:
            for model in FAMILY_OF:
                await container.generate_reply().execute(ask(model))
        finally:
            await close(container)
        assert anthropic.state.message_requests == 1
    assert gateway.state.chat_requests == 1  # the OpenAI-compatible override
    assert hosts.families() == ["google-gemini", "azure"]  # the others still derived


async def test_client_id_and_secret_as_the_key_reach_azure_as_its_api_key(
    tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts
) -> None:
    container = operator(tmp_path, gateway, hosts, ai_gateway_auth_method="static_key")
    try:
        for model in FAMILY_OF:
            await container.generate_reply().execute(ask(model))
        stream = container.generate_reply().stream(ask("azure/gpt-4o", text="one two three"))
        text = "".join([delta.content or "" async for delta in stream.deltas])
    finally:
        await close(container)
    assert text == "echo: one two three"  # Azure's choice-less first chunk is passed over
    key = f"{gateway.state.client_id}:{gateway.state.client_secret}"
    assert {hit.credential for hit in hosts.hits} == {key}
    assert [(hit.family, hit.header) for hit in hosts.hits] == [
        ("openai", "Authorization"),
        ("anthropic", "Authorization"),
        ("google-gemini", "Authorization"),
        ("azure", "api-key"),
        ("azure", "api-key"),
    ]
    assert gateway.state.token_requests == 0


async def test_an_unknown_azure_deployment_is_model_not_found(
    tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts
) -> None:
    container = operator(tmp_path, gateway, hosts)
    try:
        with pytest.raises(ModelNotFoundError, match="no deployment for model 'azure/gpt-9'"):
            await container.generate_reply().execute(ask("azure/gpt-9"))
        with pytest.raises(InvalidRequestError, match="Azure deployment name"):
            await container.generate_reply().execute(ask("azure/a/b"))
    finally:
        await close(container)
    assert hosts.families() == ["azure"]  # the bad name was refused before anything was sent


async def test_without_an_instance_id_the_base_url_serves_everything(
    tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts
) -> None:
    container = operator(tmp_path, gateway, hosts, ai_gateway_instance_id=None)
    try:
        answer = await container.generate_reply().execute(ask("claude-sonnet-4-5-20250929"))
    finally:
        await close(container)
    assert answer.response.content == "echo: hello"
    assert gateway.state.chat_requests == 1 and hosts.hits == []


def alice_gateway(gateway: FakeAIGateway, **fields: Any) -> ProviderCredentials:
    return ProviderCredentials(
        provider=ProviderName.AI_GATEWAY,
        api_key=SecretStr(gateway.state.client_id),
        client_secret=SecretStr(gateway.state.client_secret),
        **fields,
    )


async def test_a_users_instance_id_derives_that_users_routes(
    tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts
) -> None:
    container = operator(tmp_path, gateway, hosts)
    alice, _ = container.user_store().create("alice")
    bob, _ = container.user_store().create("bob")
    try:
        configure = container.configure_provider()
        await configure.execute(ConfigureRequest(alice.id, alice_gateway(gateway, instance_id="inst-2")))
        await configure.execute(
            ConfigureRequest(
                bob.id,
                alice_gateway(gateway, instance_id="inst-3", env="Dev", region="us", auth_method=AuthMethod.STATIC_KEY),
            )
        )
        for user in (alice.id, bob.id, None):
            for model in ("gpt-4o-mini", "azure/gpt-4o"):
                await container.generate_reply().execute(ask(model, user))
        stored = container.credential_store().get(bob.id, ProviderName.AI_GATEWAY)
    finally:
        await close(container)
    assert [(hit.instance_id, hit.where, hit.family, hit.header) for hit in hosts.hits] == [
        ("inst-2", "prod", "openai", "Authorization"),
        ("inst-2", "prod", "azure", "Authorization"),
        ("inst-3", "us.dev", "openai", "Authorization"),
        ("inst-3", "us.dev", "azure", "api-key"),
        ("inst-1", "prod", "openai", "Authorization"),
        ("inst-1", "prod", "azure", "Authorization"),
    ]
    assert stored is not None and stored.credentials is not None
    assert (stored.credentials.instance_id, stored.credentials.env, stored.credentials.region) == (
        "inst-3",
        "dev",
        "us",
    )


async def test_a_stored_secret_does_not_follow_a_changed_instance(
    tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts
) -> None:
    container = operator(tmp_path, gateway, hosts)
    alice, _ = container.user_store().create("alice")
    configure = container.configure_provider()
    keep_secret = {"api_key": SecretStr(""), "client_secret": None}
    try:
        await configure.execute(ConfigureRequest(alice.id, alice_gateway(gateway, instance_id="inst-2", region="eu")))
        for changed, named in (
            ({"instance_id": "inst-3", "region": "eu"}, "instance id"),
            ({"instance_id": "inst-2"}, "region"),
            ({"instance_id": "inst-2", "region": "eu", "env": "dev"}, "environment"),
            ({"instance_id": "inst-2", "region": "eu", "route_template": f"{hosts.url}/x/{{instance_id}}"}, "route"),
            ({}, "instance id"),
        ):
            given = ProviderCredentials(provider=ProviderName.AI_GATEWAY, **keep_secret, **changed)  # type: ignore[arg-type]
            with pytest.raises(InvalidRequestError, match=f"{named}.* changed") as refused:
                await configure.execute(ConfigureRequest(alice.id, given))
            assert refused.value.param == "client_secret"
        # The same destination, written differently (case, the default environment spelled out).
        same = {"instance_id": "inst-2", "region": "EU", "env": "prod"}
        given = ProviderCredentials(provider=ProviderName.AI_GATEWAY, **keep_secret, **same)  # type: ignore[arg-type]
        await configure.execute(ConfigureRequest(alice.id, given))
        answer = await container.generate_reply().execute(ask("gpt-4o-mini", alice.id))
    finally:
        await close(container)
    assert answer.response.content == "echo: hello"
    assert [(hit.instance_id, hit.where) for hit in hosts.hits] == [("inst-2", "eu.prod")]


async def test_a_users_route_template_passes_the_base_url_policy(
    tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts
) -> None:
    container = operator(tmp_path, gateway, hosts, ideaforge_allow_private_base_urls=False)
    alice, _ = container.user_store().create("alice")
    try:
        configure = container.configure_provider()
        with pytest.raises(InvalidRequestError, match="route template gives for openai must use https") as refused:
            await configure.execute(
                ConfigureRequest(alice.id, alice_gateway(gateway, instance_id="inst-2", route_template=hosts.template))
            )
        assert refused.value.param == "route_template"
        for fields, param in (
            ({"instance_id": "inst 2"}, "instance_id"),
            ({"instance_id": "inst-2", "region": "eu/evil"}, "region"),
            ({"instance_id": "inst-2", "route_template": "https://{family}.{tenant}.example.com"}, "route_template"),
            ({"env": "dev"}, "instance_id"),
        ):
            with pytest.raises(InvalidRequestError) as refused:
                await configure.execute(ConfigureRequest(alice.id, alice_gateway(gateway, **fields)))
            assert refused.value.param == param, refused.value.message
    finally:
        await close(container)
    assert hosts.hits == [] and gateway.state.token_requests == 0


async def test_the_python_api_takes_an_instance_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in {
        "AI_GATEWAY_CLIENT_ID": gateway.state.client_id,
        "AI_GATEWAY_CLIENT_SECRET": gateway.state.client_secret,
        "AI_GATEWAY_BASE_URL": gateway.url,
        "AI_GATEWAY_ENABLED": "true",
        "AI_GATEWAY_INSTANCE_ID": "inst-1",
        "AI_GATEWAY_ROUTE_TEMPLATE": hosts.template,
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
    }.items():
        monkeypatch.setenv(name, value)
    hello = [ChatMessage("user", "hello")]
    try:
        own = AIGatewayClient(gateway.state.client_id, gateway.state.client_secret, instance_id="inst-2", region="EU")
        claude = await own.chat(ChatRequest(model="claude-sonnet-4-5-20250929", messages=hello))
        environment = provider_registry.get_ai_gateway_client()
        gpt = await environment.chat(ChatRequest(model="gpt-4o-mini", messages=hello))
        with pytest.raises(ConfigurationError, match=r"^instance_id: the instance id must be"):
            AIGatewayClient("id", "secret", instance_id="a/b")
    finally:
        ideaforge_gateway.close()
    assert claude.content == gpt.content == "echo: hello"
    assert [(hit.family, hit.instance_id, hit.where) for hit in hosts.hits] == [
        ("anthropic", "inst-2", "eu.prod"),
        ("openai", "inst-1", "prod"),
    ]
