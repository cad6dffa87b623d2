"""`GenerateWithAgent`'s rules with a fake runner: checks come first, the runner's answer stands."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ideaforge_gateway.application.fallback_chain import Breakers, FallbackChain
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.application.use_cases.generate_reply import GenerateReply
from ideaforge_gateway.application.use_cases.generate_with_agent import GenerateWithAgent
from ideaforge_gateway.domain.agents import AgentRunRequest, AgentRunResult, AgentRunStream
from ideaforge_gateway.domain.config import GatewayConfig, ProviderDefaults, TierModels
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import ConfigurationError, InvalidRequestError
from ideaforge_gateway.domain.models import ProviderName, Tier
from ideaforge_gateway.domain.ports.agent_runner import AgentRunner
from tests.unit.fakes import FakeProviderFactory


class FakeAgentRunner(AgentRunner):
    def __init__(self) -> None:
        self.requests: list[AgentRunRequest] = []

    async def run(self, request: AgentRunRequest) -> AgentRunResult:
        self.requests.append(request)
        return AgentRunResult(f"ran: {request.prompt}", ProviderName.OPENAI, "gpt-4o", attempts=())

    def stream(self, request: AgentRunRequest) -> AgentRunStream:
        self.requests.append(request)
        return AgentRunStream()


def use_case(*, openai_key: str | None = "sk-1") -> tuple[GenerateWithAgent, FakeAgentRunner]:
    tiers = TierModels("f", "s", "p")
    providers = {
        p: ProviderDefaults(
            p,
            tiers,
            credentials=ProviderCredentials(p, api_key=SecretStr(openai_key))
            if p is ProviderName.OPENAI and openai_key
            else None,
        )
        for p in ProviderName
    }
    registry = ProviderRegistry(GatewayConfig(providers=providers), FakeProviderFactory())
    reply = GenerateReply(registry, FallbackChain(registry, Breakers()))
    runner = FakeAgentRunner()
    return GenerateWithAgent(runner, reply), runner


async def test_the_runners_answer_is_the_answer() -> None:
    generate, runner = use_case()
    request = AgentRunRequest("hello", tier=Tier.FAST, user_id=None)
    assert (await generate.execute(request)).content == "ran: hello"
    assert runner.requests == [request]


@pytest.mark.parametrize("prompt", ["", "   \n"])
async def test_an_empty_prompt_is_refused_before_any_run(prompt: str) -> None:
    generate, runner = use_case()
    with pytest.raises(InvalidRequestError, match="empty"):
        await generate.execute(AgentRunRequest(prompt))
    assert runner.requests == []


def test_no_usable_provider_is_refused_before_any_run() -> None:
    generate, runner = use_case(openai_key=None)
    with pytest.raises(ConfigurationError, match="no provider is configured"):
        generate.stream(AgentRunRequest("hi"))
    assert runner.requests == []


def test_a_model_no_provider_offers_is_refused_before_any_run() -> None:
    generate, runner = use_case()
    with pytest.raises(ConfigurationError, match="claude-sonnet"):
        generate.stream(AgentRunRequest("hi", model="claude-sonnet-4-5"))
    assert runner.requests == []
