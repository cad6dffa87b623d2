"""One contract, every wire format: `HttpLLMProvider` over the transport, against loopback servers
that speak OpenAI's chat completions, Anthropic's Messages and Gemini's generateContent.

Each case is served as a gateway serves it: a bearer token from a `TokenSource`, the AI
Gateway's name on every answer and error. What differs between formats is only how the fake is
told to fail; what must hold is the same for all three.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from ideaforge_gateway.adapters.anthropic.messages_format import AnthropicMessagesFormat
from ideaforge_gateway.adapters.gemini.generate_content_format import GeminiGenerateContentFormat
from ideaforge_gateway.adapters.http.client import HttpTimeouts, build_http_client
from ideaforge_gateway.adapters.http.token_auth import TokenSourceAuth
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.adapters.http_llm_provider import HttpLLMProvider
from ideaforge_gateway.adapters.openai_compat.wire import OpenAIChatCompletionsFormat
from ideaforge_gateway.adapters.wire_format import WireFormat
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    ModelNotFoundError,
    ProviderUnavailableError,
    RateLimitedError,
)
from ideaforge_gateway.domain.models import (
    AccessToken,
    ChatMessage,
    ChatOptions,
    ChatRequest,
    ProviderName,
    StreamDelta,
    ToolSpec,
)
from ideaforge_gateway.domain.ports.token_source import TokenSource
from tests.support import fake_ai_gateway, fake_anthropic, fake_gemini

GATEWAY = ProviderName.AI_GATEWAY
WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


class Tokens(TokenSource):
    """Hands out `values` in turn, one more after each invalidation; counts the invalidations."""

    def __init__(self, *values: str) -> None:
        self._tokens = [AccessToken(SecretStr(v), float("inf"), float("inf")) for v in values]
        self.invalidated = 0

    async def token(self) -> AccessToken:
        return self._tokens[0]

    def invalidate(self, token: AccessToken) -> None:
        if token is self._tokens[0] and len(self._tokens) > 1:
            self._tokens.pop(0)
            self.invalidated += 1


@dataclass(frozen=True)
class Case:
    """One wire format and how to drive its fake."""

    name: str
    fake: Callable[[], Any]
    wire: Callable[[ProviderName], WireFormat]
    model: str
    base_url: Callable[[Any], str]
    accept_bearer: Callable[[Any, str], None]
    fail: Callable[[Any, list[int]], None]
    cut_stream_after: Callable[[Any, int], None]
    chat_requests: Callable[[Any], int]
    received: Callable[[Any], dict[str, Any]]


def _set(attribute: str) -> Callable[[Any, Any], None]:
    return lambda fake, value: setattr(fake.state, attribute, value)


def _get(attribute: str) -> Callable[[Any], int]:
    return lambda fake: int(getattr(fake.state, attribute))


CASES = [
    Case(
        "openai_compat",
        fake_ai_gateway.FakeAIGateway,
        OpenAIChatCompletionsFormat,
        "gpt-4o",
        lambda fake: f"{fake.url}/v1",
        _set("api_key"),
        _set("chat_failures"),
        _set("stream_cut_after"),
        _get("chat_requests"),
        lambda fake: fake.state.last_chat_body,
    ),
    Case(
        "anthropic",
        fake_anthropic.FakeAnthropic,
        AnthropicMessagesFormat,
        fake_anthropic.MODELS[0],
        lambda fake: fake.url,
        _set("bearer"),
        _set("failures"),
        _set("stream_cut_after"),
        _get("message_requests"),
        lambda fake: fake.state.last_body,
    ),
    Case(
        "gemini",
        fake_gemini.FakeGemini,
        GeminiGenerateContentFormat,
        fake_gemini.CHAT_MODELS[0],
        lambda fake: fake.url,
        _set("bearer"),
        _set("failures"),
        _set("stream_cut_after"),
        _get("generate_requests"),
        lambda fake: fake.state.last_body,
    ),
]


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def fake(case: Case) -> Iterator[Any]:
    server: AbstractContextManager[Any] = case.fake()
    with server as running:
        case.accept_bearer(running, "fresh")
        yield running


def provider(
    case: Case, fake: Any, transport: HttpTransport, tokens: TokenSource | None = None, base_url: str | None = None
) -> HttpLLMProvider:
    return HttpLLMProvider(
        transport,
        base_url=base_url or case.base_url(fake),
        auth=TokenSourceAuth(tokens or Tokens("fresh")),
        wire=case.wire(GATEWAY),
    )


def ask(case: Case, text: str, **options: Any) -> ChatRequest:
    return ChatRequest(case.model, [ChatMessage("user", text)], options=ChatOptions(**options))


async def collect(source: HttpLLMProvider, request: ChatRequest) -> list[StreamDelta]:
    async with source.stream(request) as deltas:
        return [delta async for delta in deltas]


async def test_chat_answers_with_content_finish_and_usage(case: Case, fake: Any, http: HttpTransport) -> None:
    response = await provider(case, fake, http).chat(ask(case, "hello there"))

    assert response.content == "echo: hello there"
    assert (response.provider, response.finish_reason) == (GATEWAY, "stop")
    assert response.usage is not None and response.usage.total_tokens > 0
    assert response.usage.total_tokens >= response.usage.prompt_tokens + response.usage.completion_tokens


async def test_stream_yields_the_text_then_finish_and_usage(case: Case, fake: Any, http: HttpTransport) -> None:
    deltas = await collect(provider(case, fake, http), ask(case, "one two three"))

    assert "".join(d.content or "" for d in deltas) == "echo: one two three"
    finishes = [d.finish_reason for d in deltas if d.finish_reason]
    assert finishes == ["stop"]
    usage = [d.usage for d in deltas if d.usage]
    assert usage and usage[-1].total_tokens > 0


async def test_tool_calls_in_chat_and_stream(case: Case, fake: Any, http: HttpTransport) -> None:
    source = provider(case, fake, http)
    request = ask(case, "Weather in Paris?", tools=[WEATHER])

    response = await source.chat(request)
    assert response.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in response.tool_calls] == [("get_weather", {"city": "Paris"})]

    deltas = await collect(source, request)
    fragments = [c for d in deltas for c in d.tool_calls]
    assert {c.index for c in fragments} == {0}
    assert [c.name for c in fragments if c.name] == ["get_weather"]
    assert json.loads("".join(c.arguments for c in fragments)) == {"city": "Paris"}
    assert [d.finish_reason for d in deltas if d.finish_reason] == ["tool_calls"]


@pytest.mark.parametrize(("status", "error"), [(429, RateLimitedError), (500, ProviderUnavailableError)])
async def test_vendor_errors_become_domain_errors(
    case: Case, fake: Any, http: HttpTransport, status: int, error: type[Exception]
) -> None:
    source = provider(case, fake, http)
    case.fail(fake, [status, status])
    with pytest.raises(error, match=f"HTTP {status}") as chat_error:
        await source.chat(ask(case, "hi"))
    with pytest.raises(error, match=f"HTTP {status}"):
        await collect(source, ask(case, "hi"))
    assert getattr(chat_error.value, "provider", None) is GATEWAY


async def test_an_unknown_model_is_model_not_found(case: Case, fake: Any, http: HttpTransport) -> None:
    unknown = "claude-nope" if case.name == "anthropic" else "gemini-nope" if case.name == "gemini" else "gpt-nope"
    with pytest.raises(ModelNotFoundError, match="nope"):
        await provider(case, fake, http).chat(ChatRequest(unknown, [ChatMessage("user", "hi")]))


async def test_a_rejected_token_is_refreshed_once_and_the_request_sent_again(
    case: Case, fake: Any, http: HttpTransport
) -> None:
    tokens = Tokens("stale", "fresh")
    source = provider(case, fake, http, tokens)

    assert (await source.chat(ask(case, "after a revocation"))).content == "echo: after a revocation"
    assert tokens.invalidated == 1

    streamed = Tokens("stale", "fresh")
    deltas = await collect(provider(case, fake, http, streamed), ask(case, "streamed too"))
    assert "".join(d.content or "" for d in deltas) == "echo: streamed too"
    assert streamed.invalidated == 1


async def test_a_token_that_stays_rejected_is_an_authentication_error_after_one_retry(
    case: Case, fake: Any, http: HttpTransport
) -> None:
    tokens = Tokens("stale", "also-stale")
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        await provider(case, fake, http, tokens).chat(ask(case, "hi"))
    assert tokens.invalidated == 1


async def test_a_public_only_transport_refuses_the_loopback_server(case: Case, fake: Any) -> None:
    guarded = HttpTransport(build_http_client(public_only=True))
    try:
        source = provider(case, fake, guarded)
        with pytest.raises(ConfigurationError, match="must be https and reach public addresses"):
            await source.chat(ask(case, "hi"))
        with pytest.raises(ConfigurationError, match="must be https and reach public addresses"):
            await collect(source, ask(case, "hi"))
        with pytest.raises(ConfigurationError, match="must be https and reach public addresses"):
            await source.list_models()
    finally:
        await guarded.aclose()
    assert case.chat_requests(fake) == 0


async def test_a_cut_stream_is_an_error_never_a_finish(case: Case, fake: Any, http: HttpTransport) -> None:
    case.cut_stream_after(fake, 2)
    received: list[StreamDelta] = []
    with pytest.raises(ProviderUnavailableError, match="ended before it was complete"):
        async with provider(case, fake, http).stream(ask(case, "a b c d e f")) as deltas:
            async for delta in deltas:
                received.append(delta)
    assert not any(d.finish_reason for d in received)


async def test_a_refused_connection_says_so_and_looks_down(case: Case, fake: Any, http: HttpTransport) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    source = provider(case, fake, http, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(ProviderUnavailableError, match=r"could not connect to 127\.0\.0\.1: connection refused") as e:
        await source.chat(ask(case, "hi"))
    assert e.value.looks_down


async def test_a_hung_upstream_times_out_as_unavailable(case: Case, fake: Any) -> None:
    impatient = HttpTransport(build_http_client(HttpTimeouts(connect=1.0, read=0.3)))
    # Outlasts the read timeout, and ends before the server stops.
    fake.state.__dict__["chat_delay" if case.name == "openai_compat" else "delay"] = 0.6
    try:
        with pytest.raises(ProviderUnavailableError, match="timed out waiting for data"):
            await provider(case, fake, impatient).chat(ask(case, "slow"))
    finally:
        await impatient.aclose()


async def test_list_models_reads_every_page(case: Case, fake: Any, http: HttpTransport) -> None:
    models = await provider(case, fake, http).list_models()
    ids = [m.id for m in models]
    assert case.model in ids and len(ids) == len(set(ids)) >= 3
    assert {m.provider for m in models} == {GATEWAY}
