"""One table of model families, read by the AI Gateway's routing and the chain's `serves_model`."""

from __future__ import annotations

import pytest

from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.policies.model_families import family_of, serves_model

A, G, OA, GW = ProviderName.ANTHROPIC, ProviderName.GEMINI, ProviderName.OPENAI, ProviderName.AI_GATEWAY


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-sonnet-4-5-20250929", A),
        ("Claude-3-5-Haiku", A),
        ("anthropic/claude-opus-4-1", A),
        ("gemini-2.5-pro", G),
        ("models/gemini-2.5-pro", G),  # Gemini's resource name: was routed the OpenAI way
        ("tunedModels/gemini-custom-1", G),
        ("google/gemma-3-27b", G),
        ("gpt-4o", None),
        ("o3-mini", None),
        ("my-claude-finetune", None),  # a family is a prefix of the id, not a word in it
    ],
)
def test_the_family_is_read_from_the_ids_last_segment(model: str, family: ProviderName | None) -> None:
    assert family_of(model) is family


@pytest.mark.parametrize("model", ["models/gemini-2.5-pro", "gemini-2.5-flash", "claude-sonnet-4-5", "gpt-4o"])
def test_each_vendor_serves_its_own_family_and_the_gateway_serves_all(model: str) -> None:
    family = family_of(model)
    assert serves_model(GW, model)
    assert serves_model(OA, model) is (family is None)
    assert serves_model(A, model) is (family is A)
    assert serves_model(G, model) is (family is G)


def test_the_gateway_routes_by_the_same_table() -> None:
    from pydantic import SecretStr

    from ideaforge_gateway.adapters.ai_gateway.ai_gateway_client import AIGatewayClient
    from ideaforge_gateway.adapters.ai_gateway.oauth2_client_credentials_token_source import StaticKeyTokenSource
    from ideaforge_gateway.domain.credentials import ProviderCredentials
    from tests.unit.fakes import FakeLLMProvider

    def route(name: str) -> FakeLLMProvider:
        return FakeLLMProvider(ProviderCredentials(GW, SecretStr(name)))

    openai, anthropic, gemini = route("openai"), route("anthropic"), route("gemini")
    source = StaticKeyTokenSource(client_id=SecretStr("id"), client_secret=SecretStr("secret"))
    client = AIGatewayClient(token_source=source, openai_route=openai, anthropic_route=anthropic, gemini_route=gemini)
    assert client.route("models/gemini-2.5-pro") is gemini
    assert client.route("claude-sonnet-4-5") is anthropic
    assert client.route("gpt-4o") is openai
    without = AIGatewayClient(token_source=source, openai_route=openai)
    assert without.route("gemini-2.5-pro") is openai  # no family route: the OpenAI-compatible one
