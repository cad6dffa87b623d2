"""`ProviderChainModel` in real Agno agents: the user's providers answer, AI Gateway first."""

from __future__ import annotations

import copy
from pathlib import Path

from agno.agent import Agent
from agno.run.agent import RunContentEvent, RunOutput
from agno.run.base import RunStatus

from ideaforge_gateway.adapters.agno import ProviderChainModel, RunLedger
from ideaforge_gateway.domain.models import Tier
from ideaforge_gateway.entrypoints.container import Container, close
from tests.support.agents import OPENAI_KEY
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway


def chain_agent(app: Container, *, tier: Tier | None = Tier.STANDARD, ledger: RunLedger | None = None) -> Agent:
    model = app.agent_model(tier=tier)
    model.ledger = ledger
    return Agent(model=model, telemetry=False)


async def test_the_gateway_answers_first(app: Container, gateway: FakeAIGateway, openai: FakeAIGateway) -> None:
    ledger = RunLedger()
    output = await chain_agent(app, tier=Tier.FAST, ledger=ledger).arun("hello chain")
    assert output.status is RunStatus.completed and output.content == "echo: hello chain"
    assert output.model_provider_data is not None and output.model_provider_data["provider"] == "ai_gateway"
    assert (ledger.provider and ledger.provider.value, ledger.model) == ("ai_gateway", "gpt-4o-mini")
    assert openai.state.chat_requests == 0


async def test_a_503_inside_an_agent_run_is_answered_by_the_next_provider(
    app: Container, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    gateway.state.chat_failures = [503, 503]
    ledger = RunLedger()
    output = await chain_agent(app, ledger=ledger).arun("fall over")
    assert output.status is RunStatus.completed and output.content == "echo: fall over"
    assert output.model_provider_data is not None and output.model_provider_data["provider"] == "openai"
    assert [(a.provider.value, a.outcome) for a in ledger.attempts] == [
        ("ai_gateway", "unavailable"),
        ("ai_gateway", "unavailable"),
        ("openai", "ok"),
    ]


async def test_a_503_before_a_stream_begins_is_answered_by_the_next_provider(
    app: Container, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    gateway.state.chat_failures = [503, 503]
    pieces: list[str] = []
    final: RunOutput | None = None
    async for event in chain_agent(app).arun("stream over", stream=True, yield_run_output=True):
        if isinstance(event, RunContentEvent) and isinstance(event.content, str):
            pieces.append(event.content)
        elif isinstance(event, RunOutput):
            final = event
    assert "".join(pieces) == "echo: stream over"
    assert final is not None and final.status is RunStatus.completed
    assert openai.state.chat_requests == 1


async def test_a_refused_connection_is_answered_by_the_next_provider(tmp_path: Path, openai: FakeAIGateway) -> None:
    with FakeAIGateway() as gone:
        url = gone.url
    app = container_for(
        tmp_path,
        ai_gateway_client_id="id",
        ai_gateway_client_secret="secret",
        ai_gateway_base_url=url,
        ai_gateway_token_url=f"{url}/oauth/token",
        ai_gateway_enabled=True,
        openai_api_key=OPENAI_KEY,
        openai_base_url=f"{openai.url}/v1",
    )
    try:
        ledger = RunLedger()
        output = await chain_agent(app, ledger=ledger).arun("anyone there?")
    finally:
        await close(app)
    assert output.status is RunStatus.completed and output.content == "echo: anyone there?"
    assert ledger.provider is not None and ledger.provider.value == "openai"
    assert {a.outcome for a in ledger.attempts[:-1]} == {"unavailable"}


def test_sync_run_falls_over_too(sync_app: Container, gateway: FakeAIGateway) -> None:
    gateway.state.chat_failures = [503, 503]
    output = chain_agent(sync_app).run("sync fall over")
    assert output.status is RunStatus.completed
    assert output.model_provider_data is not None and output.model_provider_data["provider"] == "openai"


async def test_a_deep_copy_shares_the_chain_and_the_ledger(app: Container, gateway: FakeAIGateway) -> None:
    model = app.agent_model(tier=Tier.PREMIUM)
    model.ledger = RunLedger()
    twin = copy.deepcopy(model)
    assert isinstance(twin, ProviderChainModel)
    assert twin.reply is model.reply and twin.ledger is model.ledger and twin.bridge is model.bridge
    assert twin.id == "premium" and twin.user_id == model.user_id
    output = await Agent(model=twin, telemetry=False).arun("copied chain")
    assert output.content == "echo: copied chain"
    assert model.ledger.model == "gpt-4-turbo"
