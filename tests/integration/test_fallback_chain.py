"""The fallback chain through the real container, against loopback servers with faults."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ideaforge_gateway.application.fallback_chain import ProvidersExhaustedError
from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.domain.errors import (
    InvalidRequestError,
    ProviderUnavailableError,
    RateLimitedError,
    StreamInterruptedError,
)
from ideaforge_gateway.domain.models import ChatMessage, ProviderName, Tier
from ideaforge_gateway.entrypoints.container import Container, close
from ideaforge_gateway.entrypoints.http.errors import status_for
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway

OPENAI_KEY = "sk-fake-openai"
ASK = GenerateRequest(messages=[ChatMessage("user", "hello")], tier=Tier.STANDARD)


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway() as server:
        yield server


@pytest.fixture
def openai() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(api_key=OPENAI_KEY) as server:
        yield server


@pytest.fixture
async def app(tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway) -> AsyncIterator[Container]:
    container = container_for(
        tmp_path,
        ai_gateway_client_id=gateway.state.client_id,
        ai_gateway_client_secret=gateway.state.client_secret,
        ai_gateway_base_url=gateway.url,
        ai_gateway_enabled=True,
        openai_api_key=OPENAI_KEY,
        openai_base_url=f"{openai.url}/v1",
        ideaforge_deadline_seconds=3.0,
    )
    yield container
    await close(container)


def outcomes(attempts: object) -> list[tuple[str, str]]:
    return [(a.provider.value, a.outcome) for a in attempts]  # type: ignore[attr-defined]


async def test_the_gateway_answers_first(app: Container, gateway: FakeAIGateway, openai: FakeAIGateway) -> None:
    generation = await app.generate_reply().execute(ASK)
    assert generation.response.provider is ProviderName.AI_GATEWAY
    assert openai.state.chat_requests == 0


async def test_a_503_from_the_gateway_is_answered_by_openai(
    app: Container, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    gateway.state.chat_failures = [503, 503]
    generation = await app.generate_reply().execute(ASK)
    assert generation.response.provider is ProviderName.OPENAI
    assert generation.response.content == "echo: hello"
    assert outcomes(generation.attempts) == [
        ("ai_gateway", "unavailable"),
        ("ai_gateway", "unavailable"),
        ("openai", "ok"),
    ]


async def test_a_short_retry_after_is_waited_for_at_the_same_provider(app: Container, gateway: FakeAIGateway) -> None:
    gateway.state.chat_failures = [429]
    gateway.state.chat_retry_after = "0.3"
    started = time.monotonic()
    generation = await app.generate_reply().execute(ASK)
    assert time.monotonic() - started >= 0.3
    assert outcomes(generation.attempts) == [("ai_gateway", "rate_limited"), ("ai_gateway", "ok")]


async def test_a_long_retry_after_falls_over_at_once(app: Container, gateway: FakeAIGateway) -> None:
    gateway.state.chat_failures = [429]
    gateway.state.chat_retry_after = "120"
    started = time.monotonic()
    generation = await app.generate_reply().execute(ASK)
    assert time.monotonic() - started < 60  # not the 120 s asked for (a bound a slow machine cannot reach)
    assert outcomes(generation.attempts) == [("ai_gateway", "rate_limited"), ("openai", "ok")]


async def test_when_every_provider_rate_limits_the_answer_is_to_slow_down(
    app: Container, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    gateway.state.chat_failures, gateway.state.chat_retry_after = [429], "120"
    openai.state.chat_failures, openai.state.chat_retry_after = [429], "30"
    with pytest.raises(RateLimitedError, match="every provider rate-limited") as caught:
        await app.generate_reply().execute(ASK)
    assert caught.value.retry_after == 30.0  # the soonest any provider expects to take requests
    assert outcomes(caught.value.attempts) == [("ai_gateway", "rate_limited"), ("openai", "rate_limited")]
    assert status_for(caught.value) == 429


async def test_malformed_json_falls_over(app: Container, gateway: FakeAIGateway) -> None:
    gateway.state.chat_malformed = 2
    generation = await app.generate_reply().execute(ASK)
    assert outcomes(generation.attempts)[-1] == ("openai", "ok")
    assert generation.attempts[0].error == "AI Gateway sent a malformed chat completion"


async def test_a_refused_connection_falls_over(tmp_path: Path, openai: FakeAIGateway) -> None:
    with FakeAIGateway() as gone:
        url = gone.url
    container = container_for(
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
        generation = await container.generate_reply().execute(ASK)
    finally:
        await close(container)
    assert generation.response.provider is ProviderName.OPENAI
    assert {a.outcome for a in generation.attempts[:-1]} == {"unavailable"}


async def test_an_invalid_request_stops_the_chain(
    app: Container, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    gateway.state.chat_failures = [400]
    with pytest.raises(InvalidRequestError) as caught:
        await app.generate_reply().execute(ASK)
    assert outcomes(caught.value.attempts) == [("ai_gateway", "invalid_request")]
    assert openai.state.chat_requests == 0


async def test_a_provider_slower_than_its_share_of_the_deadline_is_left_for_the_next(
    app: Container, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    gateway.state.chat_delay = 10
    started = time.monotonic()
    generation = await app.generate_reply().execute(ASK)
    # Half of the 3 s deadline, then OpenAI's answer: never the hung provider's 10 s (the upper
    # bound only proves that; the attempt's error says why it moved on).
    assert 1.4 <= time.monotonic() - started < 10
    assert generation.response.provider is ProviderName.OPENAI
    assert outcomes(generation.attempts) == [("ai_gateway", "unavailable"), ("openai", "ok")]
    assert "its share of the deadline" in (generation.attempts[0].error or "")


async def test_answers_slower_than_the_deadline_end_within_it(
    app: Container, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    gateway.state.chat_delay = openai.state.chat_delay = 10
    started = time.monotonic()
    with pytest.raises(ProviderUnavailableError, match="deadline of 3 s") as caught:
        await app.generate_reply().execute(ASK)
    assert 2.9 <= time.monotonic() - started < 10  # the 3 s deadline, not the providers' 10 s
    assert outcomes(caught.value.attempts) == [("ai_gateway", "unavailable"), ("openai", "deadline")]
    assert status_for(caught.value) == 504


def test_only_a_passed_deadline_is_a_504() -> None:
    hung = ProvidersExhaustedError("every provider failed (a: did not answer within 30 s, its share of the deadline)")
    assert status_for(hung) == 503
    assert status_for(ProvidersExhaustedError("no provider answered in time", deadline_passed=True)) == 504


async def test_streaming_falls_over_before_content(app: Container, gateway: FakeAIGateway) -> None:
    gateway.state.chat_failures = [503, 503]
    stream = app.generate_reply().stream(ASK)
    text = "".join([d.content or "" async for d in stream.deltas])
    assert text == "echo: hello"
    assert stream.provider is ProviderName.OPENAI
    assert outcomes(stream.attempts)[-1] == ("openai", "ok")


async def test_a_stream_reset_after_content_is_an_error_event_not_a_finish(
    app: Container, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    gateway.state.stream_cut_after = 2
    stream = app.generate_reply().stream(GenerateRequest(messages=[ChatMessage("user", "one two three four")]))
    received: list[str] = []
    with pytest.raises(StreamInterruptedError, match="broke off after it had begun"):
        async for delta in stream.deltas:
            received.append(delta.content or "")
    assert "".join(received).startswith("echo:")
    assert openai.state.chat_requests == 0


async def test_an_open_circuit_is_skipped_without_a_call(app: Container, gateway: FakeAIGateway) -> None:
    gateway.state.chat_failures = [503] * 10
    for _ in range(3):  # 2 tries each: 6 failures open the circuit (threshold 5)
        await app.generate_reply().execute(ASK)
    requests_before = gateway.state.chat_requests
    generation = await app.generate_reply().execute(ASK)
    assert gateway.state.chat_requests == requests_before
    assert outcomes(generation.attempts) == [("ai_gateway", "circuit_open"), ("openai", "ok")]
