"""`AIGatewayModel` in real Agno agents: run, arun, streaming, tools, usage, copies, fallback."""

from __future__ import annotations

import asyncio
import copy

import pytest
from agno.agent import Agent
from agno.exceptions import ModelAuthenticationError, ModelProviderError
from agno.models.message import Message
from agno.models.openai import OpenAILike
from agno.run.agent import RunContentEvent, RunOutput
from agno.run.base import RunStatus

from ideaforge_gateway.adapters.agno import AIGatewayModel
from ideaforge_gateway.domain.errors import AuthenticationError
from ideaforge_gateway.domain.models import Tier
from ideaforge_gateway.entrypoints.container import Container
from tests.support.fake_ai_gateway import FakeAIGateway


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def agent_for(app: Container, **kwargs: object) -> Agent:
    return Agent(model=app.ai_gateway_model(), telemetry=False, **kwargs)  # type: ignore[arg-type]


def test_run_from_plain_sync_code(sync_app: Container, gateway: FakeAIGateway) -> None:
    output = agent_for(sync_app).run("hello sync")
    assert output.status is RunStatus.completed
    assert output.content == "echo: hello sync"
    assert gateway.state.last_chat_body is not None and gateway.state.last_chat_body["model"] == "gpt-4o"


async def test_arun_reports_usage_and_who_answered(app: Container, gateway: FakeAIGateway) -> None:
    output = await agent_for(app).arun("hello async")
    assert output.status is RunStatus.completed and output.content == "echo: hello async"
    assert output.metrics is not None
    assert (output.metrics.input_tokens, output.metrics.output_tokens, output.metrics.total_tokens) == (11, 7, 18)
    assert output.model_provider_data is not None and output.model_provider_data["provider"] == "ai_gateway"


def test_streaming_from_sync_code(sync_app: Container) -> None:
    events = list(agent_for(sync_app).run("one two three", stream=True, yield_run_output=True))
    pieces = [e.content for e in events if isinstance(e, RunContentEvent) and e.content]
    # Words that reach the gateway in one read arrive as one piece (the provider joins them).
    assert "".join(pieces) == "echo: one two three"
    final = events[-1]
    assert isinstance(final, RunOutput) and final.status is RunStatus.completed
    assert final.metrics is not None and final.metrics.total_tokens == 18


async def test_streaming_from_async_code(app: Container) -> None:
    pieces: list[str] = []
    final: RunOutput | None = None
    async for event in agent_for(app).arun("four five", stream=True, yield_run_output=True):
        if isinstance(event, RunContentEvent) and isinstance(event.content, str) and event.content:
            pieces.append(event.content)
        elif isinstance(event, RunOutput):
            final = event
    assert "".join(pieces) == "echo: four five"
    assert final is not None and final.status is RunStatus.completed and final.metrics is not None
    assert final.metrics.input_tokens == 11


async def test_a_tool_call_round_trip_with_a_python_function(app: Container, gateway: FakeAIGateway) -> None:
    output = await agent_for(app, tools=[get_weather]).arun("what is the weather?")
    assert output.status is RunStatus.completed
    assert output.content == "The tool said: sunny in Paris"
    assert [(t.tool_name, t.tool_args) for t in output.tools or []] == [("get_weather", {"city": "Paris"})]
    sent = gateway.state.last_chat_body
    assert sent is not None and sent["tools"][0]["function"]["name"] == "get_weather"
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "tool"]
    assert output.metrics is not None and output.metrics.total_tokens == 36  # two model calls


def test_a_streamed_tool_call_round_trip_from_sync_code(sync_app: Container) -> None:
    # The fake streams the call's arguments in two fragments; Agno must get them whole.
    events = list(agent_for(sync_app, tools=[get_weather]).run("weather?", stream=True, yield_run_output=True))
    final = events[-1]
    assert isinstance(final, RunOutput) and final.status is RunStatus.completed
    assert final.content == "The tool said: sunny in Paris"
    assert [t.tool_args for t in final.tools or []] == [{"city": "Paris"}]


async def test_the_tier_picks_the_model(app: Container, gateway: FakeAIGateway) -> None:
    model = app.ai_gateway_model(tier=Tier.FAST)
    assert model.id == "gpt-4o-mini"
    await Agent(model=model, telemetry=False).arun("quick")
    assert gateway.state.last_chat_body is not None and gateway.state.last_chat_body["model"] == "gpt-4o-mini"


async def test_a_deep_copy_shares_the_client_and_keeps_working(app: Container, gateway: FakeAIGateway) -> None:
    model = app.ai_gateway_model()
    twin = copy.deepcopy(model)
    assert twin is not model and twin.gateway is model.gateway and twin.bridge is model.bridge
    assert gateway.state.client_secret not in repr(twin)
    first = await Agent(model=model, telemetry=False).arun("original")
    second = await Agent(model=twin, telemetry=False).arun("copy")
    assert (first.content, second.content) == ("echo: original", "echo: copy")
    assert gateway.state.token_requests == 1


async def test_as_one_of_agnos_fallback_models(app: Container, gateway: FakeAIGateway) -> None:
    with FakeAIGateway() as gone:
        dead_url = f"{gone.url}/v1"
    primary = OpenAILike(id="gpt-4o", api_key="unused", base_url=dead_url, max_retries=0)
    ours = app.ai_gateway_model()
    agent = Agent(model=primary, fallback_models=[ours], telemetry=False)
    output = await agent.arun("fall over to the gateway")
    assert output.status is RunStatus.completed, output.content
    assert output.content == "echo: fall over to the gateway"
    assert agent.fallback_config is not None
    (used,) = agent.fallback_config.on_error
    assert isinstance(used, AIGatewayModel) and used is not ours and used.gateway is ours.gateway  # Agno's copy


async def test_a_hundred_concurrent_runs_share_one_token(app: Container, gateway: FakeAIGateway) -> None:
    agent = agent_for(app)
    outputs = await asyncio.wait_for(asyncio.gather(*(agent.arun(f"n{i}") for i in range(100))), 20)
    assert {o.status for o in outputs} == {RunStatus.completed}
    assert sorted(o.content for o in outputs) == sorted(f"echo: n{i}" for i in range(100))
    assert gateway.state.token_requests == 1
    assert gateway.state.chat_requests == 100


async def test_rejected_credentials_are_agnos_authentication_error(app: Container, gateway: FakeAIGateway) -> None:
    gateway.state.client_secret = "rotated-elsewhere"
    model = app.ai_gateway_model()
    with pytest.raises(ModelAuthenticationError, match="rejected the client credentials") as caught:
        await model.ainvoke(messages=[Message(role="user", content="hi")], assistant_message=Message(role="assistant"))
    assert isinstance(caught.value.__cause__, AuthenticationError)
    output = await Agent(model=model, telemetry=False).arun("hi")
    assert output.status is RunStatus.error
    assert "rejected the client credentials" in str(output.content)
    assert "rotated-elsewhere" not in str(output.content)


async def test_an_unavailable_gateway_is_a_retryable_provider_error(app: Container, gateway: FakeAIGateway) -> None:
    gateway.state.chat_failures = [503]
    model = app.ai_gateway_model()
    with pytest.raises(ModelProviderError) as caught:
        await model.ainvoke(messages=[Message(role="user", content="hi")], assistant_message=Message(role="assistant"))
    assert caught.value.status_code == 503 and model._is_retryable_error(caught.value)


async def test_the_models_settings_and_request_params_all_reach_the_upstream(
    app: Container, gateway: FakeAIGateway
) -> None:
    model = app.ai_gateway_model()
    model.temperature, model.max_tokens, model.stop = 0.2, 50, ["END"]
    model.request_params = {"top_p": 0.5, "seed": 11, "user": "agent-user"}
    output = await Agent(model=model, telemetry=False).arun("settings")
    assert output.status is RunStatus.completed
    sent = gateway.state.last_chat_body
    assert sent is not None
    assert (sent["temperature"], sent["max_tokens"], sent["stop"]) == (0.2, 50, ["END"])
    assert (sent["top_p"], sent["seed"], sent["user"]) == (0.5, 11, "agent-user")


@pytest.mark.parametrize("model_id", ["gpt-4o\r\nX-Injected: 1", "gemini-2.5-pro\n", "модель"])
async def test_a_model_id_unfit_for_a_header_is_refused_before_the_gateway_is_called(
    app: Container, gateway: FakeAIGateway, openai: FakeAIGateway, model_id: str
) -> None:
    """Issue 18, case 5, for both Agno models."""
    before = gateway.state.chat_requests + openai.state.chat_requests
    output = await Agent(
        model=AIGatewayModel(id=model_id, gateway=app.registry().get_ai_gateway_client()), telemetry=False
    ).arun("hi")
    chained = await Agent(model=app.agent_model(model=model_id), telemetry=False).arun("hi")
    for run in (output, chained):
        assert run.status is RunStatus.error
        assert "model: a model id is printable ASCII" in str(run.content)
    assert gateway.state.chat_requests + openai.state.chat_requests == before
