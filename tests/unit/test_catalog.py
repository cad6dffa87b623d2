"""The catalog's pure parts: classification, prices, the policy, enrichment, the gate and the
cached view (with a hand-written catalog, no I/O)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from pydantic import SecretStr

from ideaforge_gateway.application.fallback_chain import Step
from ideaforge_gateway.application.model_availability import (
    CatalogGate,
    WantedModel,
    availability_warnings,
    wanted_models,
)
from ideaforge_gateway.application.model_catalog import CatalogView
from ideaforge_gateway.application.registry import ResolvedProvider
from ideaforge_gateway.domain.catalog import Catalog, CatalogModel, enrich, policy_refusal
from ideaforge_gateway.domain.config import TierModels
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import ModelNotOfferedError, PolicyRefusedError, ProviderUnavailableError
from ideaforge_gateway.domain.models import (
    ChatMessage,
    ChatRequest,
    Classification,
    ModelInfo,
    ModelPrice,
    ProviderName,
    Usage,
)

GPT = CatalogModel("openai", "chat", "gpt-4o", Classification.GREEN, ModelPrice(Decimal("2.5"), Decimal("10")))
CLAUDE = CatalogModel("anthropic", "messages", "claude-x", Classification.RED, ModelPrice(Decimal(3), Decimal(15)))
CATALOG = Catalog((GPT, CLAUDE))


class FakeCatalog:
    def __init__(self, answer: Catalog | None = CATALOG) -> None:
        self.answer = answer
        self.calls = 0

    async def fetch(self, provider: str | None = None) -> Catalog:
        self.calls += 1
        if self.answer is None:
            raise ProviderUnavailableError("AI Gateway could not answer model catalog (HTTP 503)")
        return self.answer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("0", Classification.GREEN),
        ("yellow", Classification.YELLOW),
        (" Red ", Classification.RED),
        (3, Classification.PURPLE),
    ],
)
def test_a_classification_is_a_level_or_a_name(given: str | int, expected: Classification) -> None:
    assert Classification.parse(given) is expected
    assert expected.label == expected.name.capitalize()


@pytest.mark.parametrize("given", ["4", "-1", "blue", ""])
def test_anything_else_is_refused_naming_the_choices(given: str) -> None:
    with pytest.raises(ValueError, match="Green, Yellow, Red, Purple"):
        Classification.parse(given)


def test_a_price_is_dollars_per_million_tokens_in_and_out() -> None:
    price = ModelPrice(Decimal("2.5"), Decimal("10"))
    assert price.cost(Usage(prompt_tokens=1_000_000, completion_tokens=500_000)) == Decimal("7.5")
    assert price.cost(Usage(prompt_tokens=3, completion_tokens=0)) == Decimal("0.0000075")


def test_the_policy_keeps_models_at_or_below_the_limit() -> None:
    assert CATALOG.within(None) is CATALOG
    assert [m.model for m in CATALOG.within(Classification.YELLOW).models] == ["gpt-4o"]
    assert [m.model for m in CATALOG.within(Classification.RED).models] == ["gpt-4o", "claude-x"]
    refusal = policy_refusal("claude-x", CLAUDE, Classification.YELLOW)
    assert refusal is not None and "Red (2)" in refusal and "AI_GATEWAY_MAX_CLASSIFICATION=Yellow (1)" in refusal
    assert policy_refusal("claude-x", CLAUDE, None) is None
    assert policy_refusal("gpt-4o", GPT, Classification.GREEN) is None


def test_enrichment_gives_listed_models_their_price_and_classification_only() -> None:
    models = [ModelInfo("gpt-4o", ProviderName.AI_GATEWAY), ModelInfo("gpt-4-turbo", ProviderName.AI_GATEWAY)]
    enriched = enrich(models, CATALOG)
    assert enriched[0].price == GPT.price and enriched[0].classification is Classification.GREEN
    assert enriched[1] == models[1]


def _step(
    model: str,
    *,
    base_url: str | None = None,
    instance_id: str | None = None,
    provider: ProviderName = ProviderName.AI_GATEWAY,
) -> Step:
    credentials = ProviderCredentials(
        provider, SecretStr("id"), SecretStr("secret"), base_url=base_url, instance_id=instance_id
    )
    resolved = ResolvedProvider(provider, credentials, "environment", TierModels("a", "b", "c"), None, None)
    return Step(resolved, ChatRequest(model, [ChatMessage(role="user", content="hi")]))


async def test_the_gate_refuses_what_the_catalog_lacks_or_the_policy_forbids() -> None:
    view = CatalogView(FakeCatalog(), instance_id="inst", max_classification=Classification.YELLOW)
    await view.current()
    gate = CatalogGate(view)
    assert gate(_step("gpt-4o")) is None
    missing = gate(_step("gpt-4-turbo"))
    assert isinstance(missing, ModelNotOfferedError) and missing.kind == "model_not_offered"
    assert "'inst' does not offer model 'gpt-4-turbo'" in missing.message
    refused = gate(_step("claude-x"))
    assert isinstance(refused, PolicyRefusedError) and "AI_GATEWAY_MAX_CLASSIFICATION" in refused.message
    # Another gateway or instance (a user's own) and the vendors are not the catalog's business.
    assert gate(_step("gpt-4-turbo", base_url="https://other.example")) is None
    assert gate(_step("gpt-4-turbo", instance_id="a-users-own-instance")) is None
    assert gate(_step("gpt-4-turbo", provider=ProviderName.OPENAI)) is None
    assert CatalogGate(None)(_step("gpt-4-turbo")) is None


async def test_the_gate_never_waits_a_cold_catalog_lets_requests_through_and_is_fetched_behind() -> None:
    source = FakeCatalog()
    gate = CatalogGate(CatalogView(source, instance_id="inst"))
    assert gate(_step("gpt-4-turbo")) is None  # nothing cached yet: let through
    await asyncio.sleep(0)  # the refresh it started
    await asyncio.sleep(0)
    assert source.calls == 1
    assert isinstance(gate(_step("gpt-4-turbo")), ModelNotOfferedError)


async def test_the_view_caches_keeps_the_last_good_catalog_and_does_not_ask_a_failing_one_in_a_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source, clock = FakeCatalog(), Clock()
    view = CatalogView(source, instance_id="inst", ttl=300, clock=clock)
    assert await view.current() is CATALOG
    assert await view.current() is CATALOG and source.calls == 1
    clock.now = 301
    source.answer = None
    assert await view.current() is CATALOG  # stale but the last good one
    assert source.calls == 2
    assert await view.current() is CATALOG and source.calls == 2  # not asked again at once
    warnings = [r for r in caplog.records if r.name == "ideaforge_gateway.catalog"]
    assert len(warnings) == 1 and "did not answer" in warnings[0].getMessage()


async def test_a_listing_applies_the_policy_and_its_failure_is_raised() -> None:
    view = CatalogView(FakeCatalog(), instance_id="inst", max_classification=Classification.GREEN)
    assert [m.model for m in (await view.listing()).models] == ["gpt-4o"]
    with pytest.raises(ProviderUnavailableError):
        await CatalogView(FakeCatalog(None), instance_id="inst").listing()


def test_warnings_name_the_setting_to_change() -> None:
    credentials = ProviderCredentials(ProviderName.AI_GATEWAY, SecretStr("id"), SecretStr("s"), default_model="mine")
    resolved = ResolvedProvider(
        ProviderName.AI_GATEWAY, credentials, "user", TierModels("gpt-4o", "gpt-4o", "gpt-4-turbo"), "gpt-4o", "mine"
    )
    wanted = wanted_models(resolved)
    assert WantedModel("gpt-4-turbo", "AI_GATEWAY_PREMIUM_MODEL") in wanted
    warnings = availability_warnings(wanted, {"gpt-4o"}, "the catalog")
    assert warnings[0] == (
        "model 'gpt-4-turbo' is not offered by the catalog: change AI_GATEWAY_PREMIUM_MODEL to one it offers"
    )
    assert "the user's default model" in warnings[1] and len(warnings) == 2
    openai = ResolvedProvider(ProviderName.OPENAI, credentials, "user", TierModels("a", "b", "c"), None, None)
    assert wanted_models(openai) == []


def test_the_catalogs_answer_is_parsed_strictly_on_bytes() -> None:
    from ideaforge_gateway.adapters.ai_gateway.catalog_client import parse_catalog

    body = (
        b'[{"name": "openai", "classification": 1, "extra": true, "endpoints": [{"slug": "chat", "models": ['
        b'{"name": "gpt-4o", "cost": {"input_unit_cost": "2.50", "output_unit_cost": 10}}, {"name": "free-one"}]}]}]'
    )
    parsed = parse_catalog(body)
    assert parsed.models == (
        CatalogModel("openai", "chat", "gpt-4o", Classification.YELLOW, ModelPrice(Decimal("2.50"), Decimal(10))),
        CatalogModel("openai", "chat", "free-one", Classification.YELLOW, None),
    )
    for bad in (
        b"{}",
        b"not json",
        b'[{"name": "x", "classification": 4}]',
        b'[{"name": "x", "classification": 0, "endpoints": [{"models": [{"name": "m", "cost": {"input_unit_cost": -1, '
        b'"output_unit_cost": 1}}]}]}]',
    ):
        with pytest.raises(ProviderUnavailableError, match="malformed model catalog"):
            parse_catalog(bad)
