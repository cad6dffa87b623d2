"""`GenerateWithAgent` over `AgnoAgentRunner`, through the real container."""

from __future__ import annotations

from pathlib import Path

import pytest

from ideaforge_gateway.domain.agents import AgentRunRequest
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    ProviderUnavailableError,
    StreamInterruptedError,
)
from ideaforge_gateway.domain.models import ProviderName, Tier
from ideaforge_gateway.entrypoints.container import Container, close
from tests.support.agents import settings_for
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"rainy in {city}"


def outcomes(attempts: object) -> list[tuple[str, str]]:
    return [(a.provider.value, a.outcome) for a in attempts]  # type: ignore[attr-defined]


async def test_a_run_answers_with_provider_model_usage_and_attempts(app: Container, gateway: FakeAIGateway) -> None:
    result = await app.generate_with_agent().execute(AgentRunRequest("hello agent", tier=Tier.FAST))
    assert result.content == "echo: hello agent"
    assert (result.provider, result.model) == (ProviderName.AI_GATEWAY, "gpt-4o-mini")
    assert result.usage is not None and result.usage.total_tokens == 18
    assert result.finish_reason == "stop"
    assert outcomes(result.attempts) == [("ai_gateway", "ok")]


async def test_the_system_prompt_is_sent_as_it_is(app: Container, gateway: FakeAIGateway) -> None:
    await app.generate_with_agent().execute(AgentRunRequest("hi", system="Answer briefly."))
    assert gateway.state.last_chat_body is not None
    assert gateway.state.last_chat_body["messages"][0] == {"role": "system", "content": "Answer briefly."}


async def test_tool_calls_over_two_model_calls(app: Container, gateway: FakeAIGateway) -> None:
    result = await app.generate_with_agent().execute(AgentRunRequest("weather?", tools=[get_weather]))
    assert result.content == "The tool said: rainy in Paris"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", '{"city": "Paris"}')]
    assert outcomes(result.attempts) == [("ai_gateway", "ok"), ("ai_gateway", "ok")]
    assert result.usage is not None and result.usage.total_tokens == 36


async def test_streaming_yields_text_then_fills_in_the_rest(app: Container) -> None:
    stream = app.generate_with_agent().stream(AgentRunRequest("stream it please", tier=Tier.PREMIUM))
    pieces = [piece async for piece in stream.text]
    assert "".join(pieces) == "echo: stream it please" and all(pieces)
    assert (stream.provider, stream.model) == (ProviderName.AI_GATEWAY, "gpt-4-turbo")
    assert stream.usage is not None and stream.usage.prompt_tokens == 11
    assert outcomes(stream.attempts) == [("ai_gateway", "ok")]


async def test_a_failed_run_is_an_error_never_content(tmp_path: Path, gateway: FakeAIGateway) -> None:
    gateway.state.chat_failures = [503, 503]
    app = container_for(tmp_path, **settings_for(gateway))  # the gateway only
    try:
        with pytest.raises(ProviderUnavailableError, match="HTTP 503") as caught:
            await app.generate_with_agent().execute(AgentRunRequest("no luck"))
    finally:
        await close(app)
    assert outcomes(caught.value.attempts) == [("ai_gateway", "unavailable"), ("ai_gateway", "unavailable")]


async def test_a_failed_stream_raises_from_the_iteration(tmp_path: Path, gateway: FakeAIGateway) -> None:
    gateway.state.chat_failures = [503, 503]
    app = container_for(tmp_path, **settings_for(gateway))
    try:
        stream = app.generate_with_agent().stream(AgentRunRequest("no luck"))
        with pytest.raises(ProviderUnavailableError) as caught:
            _ = [piece async for piece in stream.text]
    finally:
        await close(app)
    assert len(caught.value.attempts) == 2


async def test_rejected_credentials_are_an_authentication_error(tmp_path: Path, gateway: FakeAIGateway) -> None:
    app = container_for(tmp_path, **settings_for(gateway, ai_gateway_client_secret="wrong-secret-canary"))
    try:
        with pytest.raises(AuthenticationError, match="invalid_client") as caught:
            await app.generate_with_agent().execute(AgentRunRequest("hi"))
    finally:
        await close(app)
    assert "wrong-secret-canary" not in str(caught.value)
    assert outcomes(caught.value.attempts) == [("ai_gateway", "authentication")]


async def test_no_provider_fails_before_any_agent_runs(tmp_path: Path) -> None:
    app = container_for(tmp_path)
    try:
        with pytest.raises(ConfigurationError, match="no provider is configured"):
            app.generate_with_agent().stream(AgentRunRequest("hi"))
    finally:
        await close(app)


async def test_a_stream_cut_after_content_is_an_error_not_a_finish(
    app: Container, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    gateway.state.stream_cut_after = 2
    stream = app.generate_with_agent().stream(AgentRunRequest("one two three four"))
    received: list[str] = []
    with pytest.raises(StreamInterruptedError, match="broke off after it had begun"):
        async for piece in stream.text:
            received.append(piece)
    assert "".join(received) == "echo: "
    assert (gateway.state.chat_requests, openai.state.chat_requests) == (1, 0)  # nothing started it again
