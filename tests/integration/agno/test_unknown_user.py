"""An unknown or revoked user id is an error naming the user, wherever a user id is taken: never a
silent answer with the environment's credentials."""

from __future__ import annotations

import pytest
from agno.agent import Agent
from agno.run.base import RunStatus
from pydantic import SecretStr

from ideaforge_gateway.application.use_cases.configure_provider import ConfigureRequest
from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.application.use_cases.list_models import ListModelsRequest
from ideaforge_gateway.application.use_cases.verify_credentials import VerifyRequest
from ideaforge_gateway.domain.agents import AgentRunRequest
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import UnknownUserError
from ideaforge_gateway.domain.models import ChatMessage, ProviderName
from ideaforge_gateway.entrypoints.container import Container
from tests.support.fake_ai_gateway import FakeAIGateway


@pytest.mark.parametrize("model", ["agent_model", "ai_gateway_model"])
async def test_an_agent_for_an_unknown_user_fails_naming_them(
    app: Container, gateway: FakeAIGateway, model: str
) -> None:
    if model == "ai_gateway_model":
        with pytest.raises(UnknownUserError, match="'nobody' does not exist"):
            app.ai_gateway_model(user_id="nobody")
        return
    agent = Agent(model=app.agent_model(user_id="nobody"), telemetry=False)
    output = await agent.arun("hello")
    assert output.status is RunStatus.error and "'nobody' does not exist" in str(output.content)
    assert agent.run("hello").status is RunStatus.error
    assert gateway.state.chat_requests == 0


async def test_every_use_case_taking_a_user_id_refuses_an_unknown_one(app: Container, gateway: FakeAIGateway) -> None:
    hello = [ChatMessage(role="user", content="hi")]
    credentials = ProviderCredentials(ProviderName.OPENAI, SecretStr("sk-x"))
    calls = {
        "generate": lambda: app.generate_reply().execute(GenerateRequest(messages=hello, user_id="nobody")),
        "agent": lambda: app.generate_with_agent().execute(AgentRunRequest(prompt="hi", user_id="nobody")),
        "models": lambda: app.list_models().execute(ListModelsRequest(user_id="nobody")),
        "verify": lambda: app.verify_credentials().execute(VerifyRequest(ProviderName.AI_GATEWAY, user_id="nobody")),
        "configure": lambda: app.configure_provider().execute(ConfigureRequest("nobody", credentials)),
    }
    for name, call in calls.items():
        with pytest.raises(UnknownUserError, match="'nobody' does not exist"):
            await call()
        assert gateway.state.chat_requests == 0, name
    alice, _ = app.user_store().create("alice")
    app.user_store().revoke("alice")
    with pytest.raises(UnknownUserError, match="has been revoked"):
        await app.list_models().execute(ListModelsRequest(user_id=alice.id))
