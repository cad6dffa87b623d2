"""Streams from OpenAI-compatible upstreams, as they really come (issue 13, cases 3 and 4): an
in-band error event is a failure, never a clean finish; tool-call fragments without `index`
(Gemini's OpenAI-compatible endpoint) still come out as separate calls, correctly numbered."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.domain.errors import StreamInterruptedError
from ideaforge_gateway.domain.models import ChatMessage, ChatOptions, ProviderName, StreamDelta
from ideaforge_gateway.entrypoints.container import Container, close
from tests.integration.test_wire_format_contract import WEATHER
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway

OPENAI_KEY = "sk-fake-openai"
TEXT = GenerateRequest(messages=[ChatMessage("user", "one two three four")])
TOOLS = GenerateRequest(messages=[ChatMessage("user", "weather?")], options=ChatOptions(tools=[WEATHER]))


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway() as server:
        yield server


@pytest.fixture
def fallback() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(api_key=OPENAI_KEY) as server:
        yield server


@pytest.fixture
async def app(tmp_path: Path, gateway: FakeAIGateway, fallback: FakeAIGateway) -> AsyncIterator[Container]:
    container = container_for(
        tmp_path,
        ai_gateway_client_id=gateway.state.client_id,
        ai_gateway_client_secret=gateway.state.client_secret,
        ai_gateway_base_url=gateway.url,
        ai_gateway_enabled=True,
        openai_api_key=OPENAI_KEY,
        openai_base_url=f"{fallback.url}/v1",
    )
    yield container
    await close(container)


async def test_an_error_event_before_content_falls_over(app: Container, gateway: FakeAIGateway) -> None:
    gateway.state.stream_error_after = 0
    stream = app.generate_reply().stream(TEXT)
    text = "".join([d.content or "" async for d in stream.deltas])
    assert text == "echo: one two three four"
    assert stream.provider is ProviderName.OPENAI
    assert stream.attempts[0].provider is ProviderName.AI_GATEWAY and stream.attempts[0].outcome == "unavailable"
    assert stream.attempts[0].error is not None and "(server_error)" in stream.attempts[0].error


async def test_an_error_event_after_content_is_an_error_not_a_clean_finish(
    app: Container, gateway: FakeAIGateway, fallback: FakeAIGateway
) -> None:
    gateway.state.stream_error_after = 3
    stream = app.generate_reply().stream(TEXT)
    received: list[StreamDelta] = []
    with pytest.raises(StreamInterruptedError):
        async for delta in stream.deltas:
            received.append(delta)
    assert "".join(d.content or "" for d in received).startswith("echo:")
    assert not any(d.finish_reason for d in received)
    assert fallback.state.chat_requests == 0


async def _tool_calls(app: Container) -> dict[int, dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    stream = app.generate_reply().stream(TOOLS)
    async for delta in stream.deltas:
        for fragment in delta.tool_calls:
            call = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
            call["id"] = fragment.id or call["id"]
            call["name"] += fragment.name or ""
            call["arguments"] += fragment.arguments
    return calls


@pytest.mark.parametrize("unindexed", [False, True], ids=["indexed", "unindexed"])
async def test_parallel_tool_calls_keep_their_own_index(
    app: Container, gateway: FakeAIGateway, unindexed: bool
) -> None:
    gateway.state.parallel_tool_calls = 2
    gateway.state.tool_calls_unindexed = unindexed
    calls = await _tool_calls(app)
    assert sorted(calls) == [0, 1]
    assert [json.loads(calls[i]["arguments"])["city"] for i in (0, 1)] == ["Paris", "Rome"]
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_weather"]
    assert calls[0]["id"] != calls[1]["id"]
