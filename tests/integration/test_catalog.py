"""The AI Gateway's model catalog through the real container, transport and loopback servers:
the request it makes, what it parses, each way it can fail, enrichment, availability warnings,
the skip to the next provider and the classification policy."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from ideaforge_gateway.application.use_cases.configure_provider import ConfigureRequest
from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.application.use_cases.list_models import ListModelsRequest
from ideaforge_gateway.application.use_cases.verify_credentials import VerifyRequest
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import GatewayError, PolicyRefusedError
from ideaforge_gateway.domain.models import ChatMessage, Classification, ModelPrice, ProviderName, Tier
from ideaforge_gateway.entrypoints.container import Container, close
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.fake_catalog import INSTANCE, FakeCatalog
from tests.support.live_server import free_port

SECRET = "catalog-secret-canary"
OPENAI_KEY = "sk-openai-canary"
HELLO = [ChatMessage(role="user", content="hello")]


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_secret=SECRET) as server:
        yield server


@pytest.fixture
def catalog() -> Iterator[FakeCatalog]:
    with FakeCatalog(client_id="svc-client", client_secret=SECRET) as server:
        yield server


def settings_for(gateway: FakeAIGateway, catalog_url: str | None, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "ai_gateway_client_id": gateway.state.client_id,
        "ai_gateway_client_secret": gateway.state.client_secret,
        "ai_gateway_base_url": gateway.url,
        "ai_gateway_enabled": True,
        **extra,
    }
    if catalog_url is not None:
        # The instance derives every family's route (AI_GATEWAY_ROUTE_TEMPLATE): the OpenAI-compatible
        # one is pointed back at the loopback gateway, as an operator may override it.
        values |= {
            "ai_gateway_instance_id": INSTANCE,
            "ai_gateway_catalog_url": catalog_url,
            "ai_gateway_openai_base_url": f"{gateway.url}/v1",
        }
    return values


@pytest.fixture
async def container(tmp_path: Path, gateway: FakeAIGateway, catalog: FakeCatalog) -> AsyncIterator[Container]:
    built = container_for(tmp_path, **settings_for(gateway, catalog.url))
    yield built
    await close(built)


async def test_the_catalog_is_asked_with_the_bearer_and_the_instance_and_parsed(
    container: Container, catalog: FakeCatalog
) -> None:
    view = container.catalog_view()
    assert view is not None
    listed = await view.listing()
    assert [(m.family, m.model) for m in listed.models][:2] == [("openai", "gpt-4o"), ("openai", "gpt-4o-mini")]
    gpt = listed.find("gpt-4o")
    assert gpt is not None and gpt.classification is Classification.GREEN and gpt.endpoint == "openai-chat"
    assert gpt.price == ModelPrice(Decimal("2.5"), Decimal("10.0"))
    claude = listed.find("claude-sonnet-4-5-20250929")
    assert claude is not None and claude.classification is Classification.RED
    only = await view.listing("anthropic")
    assert [m.model for m in only.models] == ["claude-sonnet-4-5-20250929"]
    assert catalog.state.seen_providers == [None, "anthropic"]


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        (
            {"client_secret": "another-secret"},
            "authentication",
            "rejected the credentials for model catalog (HTTP 401)",
        ),
        ({"instance_id": "another-instance"}, "permission_denied", "refused model catalog (HTTP 403)"),
        ({"failure": 500}, "unavailable", "could not answer model catalog (HTTP 500)"),
        ({"malformed": True}, "unavailable", "sent a malformed model catalog"),
        ({"oversize": 2 << 20}, "unavailable", "the answer is too large"),
    ],
)
async def test_a_catalog_that_fails_is_one_clear_error_without_the_secret(
    tmp_path: Path, gateway: FakeAIGateway, fault: dict[str, Any], kind: str, words: str
) -> None:
    with FakeCatalog(**{"client_secret": SECRET, **fault}) as failing:
        container = container_for(tmp_path, **settings_for(gateway, failing.url))
        try:
            view = container.catalog_view()
            assert view is not None
            with pytest.raises(GatewayError) as caught:
                await view.listing()
        finally:
            await close(container)
    assert caught.value.kind == kind and words in caught.value.message
    assert SECRET not in caught.value.message


async def test_a_catalog_that_refuses_connections_says_so(tmp_path: Path, gateway: FakeAIGateway) -> None:
    container = container_for(tmp_path, **settings_for(gateway, f"http://127.0.0.1:{free_port()}/v1/catalog/models"))
    try:
        view = container.catalog_view()
        assert view is not None
        with pytest.raises(GatewayError, match="connection refused"):
            await view.listing()
    finally:
        await close(container)


async def test_the_gateways_model_list_carries_the_catalogs_prices_and_classification(container: Container) -> None:
    models = {m.id: m for m in await container.registry().get_ai_gateway_client().list_models()}
    assert models["gpt-4o-mini"].price == ModelPrice(Decimal("0.15"), Decimal("0.6"))
    assert models["gemini-2.5-pro"].classification is Classification.YELLOW
    assert models["gpt-4-turbo"].price is None and models["gpt-4-turbo"].classification is None


async def test_without_an_answering_catalog_the_model_list_is_plain_and_one_warning_is_logged(
    tmp_path: Path, gateway: FakeAIGateway, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeCatalog(client_secret=SECRET, failure=503) as failing:
        container = container_for(tmp_path, **settings_for(gateway, failing.url))
        try:
            models = await container.registry().get_ai_gateway_client().list_models()
            again = await container.list_models().execute(ListModelsRequest())
        finally:
            await close(container)
    assert [m.id for m in models] == [m.id for m in again] and models
    assert all(m.price is None and m.classification is None for m in models)
    warnings = [r.getMessage() for r in caplog.records if r.name == "ideaforge_gateway.catalog"]
    assert len(warnings) == 1 and "(HTTP 503)" in warnings[0]
    assert SECRET not in caplog.text


async def test_verify_warns_about_tier_models_the_instance_does_not_offer(container: Container) -> None:
    result = await container.verify_credentials().execute(VerifyRequest(ProviderName.AI_GATEWAY))
    assert result.valid
    assert result.warnings == [
        f"model 'gpt-4-turbo' is not offered by the catalog of AI Gateway instance '{INSTANCE}': "
        "change AI_GATEWAY_PREMIUM_MODEL to one it offers"
    ]


async def test_verify_warns_about_a_users_own_default_model(container: Container) -> None:
    alice, _ = container.user_store().create("alice")
    credentials = ProviderCredentials(
        ProviderName.AI_GATEWAY, SecretStr("svc-client"), SecretStr(SECRET), default_model="gpt-5-preview"
    )
    await container.configure_provider().execute(ConfigureRequest(alice.id, credentials))
    result = await container.verify_credentials().execute(VerifyRequest(ProviderName.AI_GATEWAY, user_id=alice.id))
    assert result.valid
    assert len(result.warnings) == 2 and "AI_GATEWAY_PREMIUM_MODEL" in result.warnings[0]
    assert result.warnings[1].startswith("model 'gpt-5-preview' is not offered by the catalog of AI Gateway instance")
    assert "the user's default model" in result.warnings[1]


async def test_without_a_catalog_verify_checks_against_the_model_list(tmp_path: Path, gateway: FakeAIGateway) -> None:
    container = container_for(tmp_path, **settings_for(gateway, None, ai_gateway_fast_model="gpt-9"))
    try:
        result = await container.verify_credentials().execute(VerifyRequest(ProviderName.AI_GATEWAY))
    finally:
        await close(container)
    assert result.valid and result.warnings == [
        "model 'gpt-9' is not offered by the AI Gateway's model list: change AI_GATEWAY_FAST_MODEL to one it offers"
    ]


@pytest.fixture
def openai() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(api_key=OPENAI_KEY) as server:
        yield server


def chain_settings(gateway: FakeAIGateway, catalog: FakeCatalog, openai: FakeAIGateway, **extra: Any) -> dict[str, Any]:
    return settings_for(
        gateway, catalog.url, openai_api_key=OPENAI_KEY, openai_base_url=f"{openai.url}/v1",
        openai_premium_model="gpt-4o", **extra,
    )  # fmt: skip


async def test_a_model_the_instance_does_not_offer_moves_to_the_next_provider_with_an_attempt_saying_so(
    tmp_path: Path, gateway: FakeAIGateway, catalog: FakeCatalog, openai: FakeAIGateway
) -> None:
    container = container_for(tmp_path, **chain_settings(gateway, catalog, openai))
    try:
        view = container.catalog_view()
        assert view is not None and await view.current() is not None  # as `serve` warms it
        answer = await container.generate_reply().execute(GenerateRequest(HELLO, tier=Tier.PREMIUM))
    finally:
        await close(container)
    assert answer.response.provider is ProviderName.OPENAI
    skipped, answered = answer.attempts
    assert (skipped.provider, skipped.model, skipped.outcome) == (
        ProviderName.AI_GATEWAY,
        "gpt-4-turbo",
        "model_not_offered",
    )
    assert skipped.error is not None and f"instance '{INSTANCE}' does not offer model 'gpt-4-turbo'" in skipped.error
    assert answered.outcome == "ok"
    assert gateway.state.chat_requests == 0  # never sent


async def test_a_stream_skips_a_model_the_instance_does_not_offer_alike(
    tmp_path: Path, gateway: FakeAIGateway, catalog: FakeCatalog, openai: FakeAIGateway
) -> None:
    container = container_for(tmp_path, **chain_settings(gateway, catalog, openai))
    try:
        view = container.catalog_view()
        assert view is not None and await view.current() is not None
        stream = container.generate_reply().stream(GenerateRequest(HELLO, tier=Tier.PREMIUM))
        text = "".join([d.content or "" async for d in stream.deltas])
    finally:
        await close(container)
    assert text == "echo: hello" and stream.provider is ProviderName.OPENAI
    assert [a.outcome for a in stream.attempts] == ["model_not_offered", "ok"]
    assert gateway.state.chat_requests == 0


async def test_the_classification_policy_skips_a_model_above_it_and_alone_refuses_it(
    tmp_path: Path, gateway: FakeAIGateway, catalog: FakeCatalog, openai: FakeAIGateway
) -> None:
    claude = "claude-sonnet-4-5-20250929"
    settings = chain_settings(
        gateway, catalog, openai, ai_gateway_standard_model=claude, ai_gateway_max_classification="yellow"
    )
    container = container_for(tmp_path, **settings)
    try:
        view = container.catalog_view()
        assert view is not None and await view.current() is not None
        answer = await container.generate_reply().execute(GenerateRequest(HELLO, tier=Tier.STANDARD))
        assert [a.outcome for a in answer.attempts] == ["policy_refused", "ok"]
        assert answer.response.provider is ProviderName.OPENAI
        with pytest.raises(PolicyRefusedError) as refused:
            await container.generate_reply().execute(GenerateRequest(HELLO, model=claude))
        assert [m.model for m in (await view.listing()).models] == [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4.1",
            "gemini-2.5-pro",
        ]
    finally:
        await close(container)
    assert f"model '{claude}' is classified Red (2)" in refused.value.message
    assert "AI_GATEWAY_MAX_CLASSIFICATION=Yellow (1)" in refused.value.message
    assert gateway.state.chat_requests == 0


async def test_a_catalog_that_does_not_answer_never_stands_in_the_way_of_a_chat(
    tmp_path: Path, gateway: FakeAIGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with FakeCatalog(client_secret=SECRET, failure=500) as failing:
        container = container_for(tmp_path, **settings_for(gateway, failing.url))
        try:
            first = await container.generate_reply().execute(GenerateRequest(HELLO, tier=Tier.PREMIUM))
            second = await container.generate_reply().execute(GenerateRequest(HELLO, tier=Tier.PREMIUM))
        finally:
            await close(container)
    assert [a.outcome for a in first.attempts + second.attempts] == ["ok", "ok"]
    assert failing.state.requests >= 1
