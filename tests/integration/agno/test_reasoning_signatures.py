"""Real Agno agents with thinking models, through both Agno models (issue 13): a tool round trip
with `reasoning_effort` works because the signatures the vendor issued come back on the next
call (Anthropic's thinking blocks in the assistant message's `provider_data`, Gemini's thought
signature on the tool-call dict), and the reasoning text reaches the run output. The fakes
refuse the second call without them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agno.agent import Agent
from agno.run.agent import RunOutput
from agno.run.base import RunStatus

from ideaforge_gateway.entrypoints.container import Container, close
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_gemini import FakeGemini

CLAUDE = "claude-sonnet-4-5-20250929"
GEMINI_3 = "gemini-3-pro-preview"


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.fixture
async def claude(tmp_path: Path) -> AsyncIterator[tuple[Container, FakeAnthropic]]:
    """Anthropic's own API, for the chain model."""
    with FakeAnthropic(api_key="sk-ant-a") as fake:
        container = container_for(tmp_path, anthropic_api_key="sk-ant-a", anthropic_base_url=fake.url)
        yield container, fake
        await close(container)


@pytest.fixture
async def gemini_route(tmp_path: Path) -> AsyncIterator[tuple[Container, FakeGemini]]:
    """The AI Gateway's Gemini route (a bearer of client_id:client_secret, as `static_key`
    sends), for `AIGatewayModel`."""
    with FakeAIGateway(accept_static_key=True) as gateway:
        bearer = f"{gateway.state.client_id}:{gateway.state.client_secret}"
        with FakeGemini(prefix="/gemini-route", bearer=bearer) as route:
            container = container_for(
                tmp_path,
                ai_gateway_client_id=gateway.state.client_id,
                ai_gateway_client_secret=gateway.state.client_secret,
                ai_gateway_base_url=gateway.url,
                ai_gateway_auth_method="static_key",
                ai_gateway_gemini_base_url=route.url,
                ai_gateway_enabled=True,
            )
            yield container, route
            await close(container)


async def run(agent: Agent, prompt: str, *, stream: bool) -> RunOutput:
    if not stream:
        return await agent.arun(prompt)
    final = [e async for e in agent.arun(prompt, stream=True, yield_run_output=True) if isinstance(e, RunOutput)]
    assert len(final) == 1
    return final[0]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_the_chain_model_round_trips_anthropic_thinking_blocks(
    claude: tuple[Container, FakeAnthropic], stream: bool
) -> None:
    app, fake = claude
    fake.state.redacted = True
    model = app.agent_model(model=CLAUDE)
    model.request_params = {"reasoning_effort": "low"}
    output = await run(Agent(model=model, tools=[get_weather], telemetry=False), "Weather in Paris?", stream=stream)

    assert output.status is RunStatus.completed, output.content
    assert output.content == "The tool said: sunny in Paris"
    assert fake.state.message_requests == 2 and not fake.state.refusals
    sent = fake.state.last_body
    assert sent is not None and sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    signature, redacted = list(fake.state.issued)[:2]
    blocks = sent["messages"][1]["content"]
    assert [b["type"] for b in blocks] == ["thinking", "redacted_thinking", "tool_use"]
    assert (blocks[0]["signature"], blocks[1]["data"]) == (signature, redacted)
    # Without streaming, Agno keeps the last model call's reasoning; streaming, the whole run's.
    assert output.reasoning_content and output.reasoning_content.endswith(list(fake.state.issued.values())[-2])


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_the_ai_gateway_model_round_trips_gemini_thought_signatures(
    gemini_route: tuple[Container, FakeGemini], stream: bool
) -> None:
    app, route = gemini_route
    model = app.ai_gateway_model()
    model.id = GEMINI_3
    model.request_params = {"reasoning_effort": "high"}
    output = await run(Agent(model=model, tools=[get_weather], telemetry=False), "Weather in Paris?", stream=stream)

    assert output.status is RunStatus.completed, output.content
    assert output.content == "The tool said: sunny in Paris"
    assert route.state.generate_requests == 2 and not route.state.refusals
    sent = route.state.last_body
    assert sent is not None
    assert sent["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingLevel": "HIGH"}
    call_part = next(p for p in sent["contents"][1]["parts"] if "functionCall" in p)
    assert call_part["thoughtSignature"] == route.state.issued[0]
    assert output.reasoning_content and "Considering the question." in output.reasoning_content


async def test_without_the_signature_the_fake_gemini_3_refuses_the_second_call(
    gemini_route: tuple[Container, FakeGemini],
) -> None:
    # The control for the test above: the same run, with signatures stripped on the way out.
    app, route = gemini_route
    route.state.strip_signatures = True
    model = app.ai_gateway_model()
    model.id = GEMINI_3
    output = await Agent(model=model, tools=[get_weather], telemetry=False).arun("Weather in Paris?")
    assert output.status is RunStatus.error
    assert route.state.refusals and route.state.refusals[-1].startswith("Function call is missing a thought_signature")
