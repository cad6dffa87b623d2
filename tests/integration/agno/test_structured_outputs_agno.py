"""Real Agno agents with `output_schema`, through both Agno models and each wire format: the
model declares native structured outputs, so Agno hands it the schema class (and adds no JSON
instructions to the prompt); the upstream gets its vendor's own structured-output fields; the run's
content is the parsed Pydantic object.

The AI Gateway serves the three formats: `/v1` (OpenAI-compatible) and its Anthropic and Gemini
routes (loopback stand-ins for each, checking what each vendor refuses)."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from agno.agent import Agent
from agno.run.agent import RunOutput
from agno.run.base import RunStatus
from pydantic import BaseModel

from ideaforge_gateway.adapters.agno.port_model import PortBackedModel
from ideaforge_gateway.entrypoints.container import Container, close
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_gemini import FakeGemini


class Mood(enum.Enum):
    SUNNY = "sunny"
    GREY = "grey"


class Forecast(BaseModel):
    city: str
    mood: Mood
    highs: list[int]
    note: str | None = None


@dataclass
class Routes:
    gateway: FakeAIGateway
    anthropic: FakeAnthropic
    gemini: FakeGemini
    app: Container

    def received(self, wire: str) -> dict[str, Any]:
        body = {
            "openai_compat": self.gateway.state.last_chat_body,
            "anthropic": self.anthropic.state.last_body,
            "gemini": self.gemini.state.last_body,
        }[wire]
        assert body is not None
        return body


MODELS = {"openai_compat": "gpt-4o", "anthropic": "claude-sonnet-4-5-20250929", "gemini": "gemini-2.5-pro"}


@pytest.fixture
def servers() -> Iterator[tuple[FakeAIGateway, FakeAnthropic, FakeGemini]]:
    with FakeAIGateway(accept_static_key=True) as gateway:
        key = f"{gateway.state.client_id}:{gateway.state.client_secret}"
        with (
            FakeAnthropic(prefix="/anthropic", bearer=key) as anthropic,
            FakeGemini(prefix="/gemini", bearer=key) as gemini,
        ):
            yield gateway, anthropic, gemini


@pytest.fixture
async def routes(tmp_path: Path, servers: tuple[FakeAIGateway, FakeAnthropic, FakeGemini]) -> AsyncIterator[Routes]:
    gateway, anthropic, gemini = servers
    app = container_for(
        tmp_path,
        ai_gateway_client_id=gateway.state.client_id,
        ai_gateway_client_secret=gateway.state.client_secret,
        ai_gateway_base_url=gateway.url,
        ai_gateway_auth_method="static_key",
        ai_gateway_anthropic_base_url=anthropic.url,
        ai_gateway_gemini_base_url=gemini.url,
        ai_gateway_enabled=True,
    )
    yield Routes(gateway, anthropic, gemini, app)
    await close(app)


def model_for(routes: Routes, kind: str, wire: str) -> PortBackedModel:
    if kind == "gateway":
        model: PortBackedModel = routes.app.ai_gateway_model()
        model.id = MODELS[wire]
        return model
    chain: PortBackedModel = routes.app.agent_model(model=MODELS[wire])
    return chain


def assert_native_fields(routes: Routes, wire: str) -> None:
    body = routes.received(wire)
    if wire == "openai_compat":
        response_format = body["response_format"]
        assert response_format["type"] == "json_schema" and response_format["json_schema"]["name"] == "Forecast"
        assert response_format["json_schema"]["strict"] is True
        schema = response_format["json_schema"]["schema"]
        system = [m["content"] for m in body["messages"] if m["role"] in ("system", "developer")]
    elif wire == "anthropic":
        assert body["output_config"]["format"]["type"] == "json_schema"
        schema = body["output_config"]["format"]["schema"]
        system = [body.get("system") or ""]
    else:
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        schema = body["generationConfig"]["responseJsonSchema"]
        system = [p["text"] for p in (body.get("systemInstruction") or {}).get("parts", [])]
    assert set(schema["properties"]) == {"city", "mood", "highs", "note"}
    # Native: Agno wrote no JSON instructions of its own into the prompt.
    assert not any("JSON" in (text or "") for text in system)


@pytest.mark.parametrize("wire", list(MODELS))
@pytest.mark.parametrize("kind", ["gateway", "chain"])
async def test_output_schema_is_native_and_parsed(routes: Routes, kind: str, wire: str) -> None:
    agent = Agent(model=model_for(routes, kind, wire), output_schema=Forecast, telemetry=False)

    output = await agent.arun("Forecast for Oslo")

    assert output.status is RunStatus.completed, output.content
    assert isinstance(output.content, Forecast)
    assert_native_fields(routes, wire)


@pytest.mark.parametrize("wire", list(MODELS))
@pytest.mark.parametrize("kind", ["gateway", "chain"])
async def test_output_schema_streamed(routes: Routes, kind: str, wire: str) -> None:
    agent = Agent(model=model_for(routes, kind, wire), output_schema=Forecast, telemetry=False)

    events = [e async for e in agent.arun("Forecast for Oslo", stream=True, yield_run_output=True)]

    final = events[-1]
    assert isinstance(final, RunOutput) and final.status is RunStatus.completed
    assert isinstance(final.content, Forecast)
    assert_native_fields(routes, wire)


def test_json_mode_goes_as_json_object(routes: Routes) -> None:
    """`use_json_mode=True` makes Agno ask for `json_object`; Anthropic takes it as a forced tool."""
    agent = Agent(
        model=model_for(routes, "chain", "anthropic"), output_schema=Forecast, use_json_mode=True, telemetry=False
    )

    output = agent.run("Forecast for Oslo")

    assert output.status is RunStatus.completed
    body = routes.received("anthropic")
    assert body["tool_choice"] == {"type": "tool", "name": "json_output"}


async def test_a_loose_schema_on_a_claude_without_structured_outputs_takes_the_forced_tool(routes: Routes) -> None:
    """`strict_output=False` (as on Agno's `OpenAIChat`): Claude 3.5 answers through a forced tool."""
    model = model_for(routes, "chain", "anthropic")
    model.id, model.strict_output = "claude-3-5-haiku-20241022", False
    agent = Agent(model=model, output_schema=Forecast, telemetry=False)

    output = await agent.arun("Forecast for Oslo")

    assert output.status is RunStatus.completed and isinstance(output.content, Forecast)
    body = routes.received("anthropic")
    assert body["tool_choice"] == {"type": "tool", "name": "Forecast"} and "output_config" not in body
