"""The Anthropic adapter against a loopback server that speaks the Messages wire format."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from ideaforge_gateway.adapters.ai_gateway.oauth2_client_credentials_token_source import StaticKeyTokenSource
from ideaforge_gateway.adapters.anthropic.messages_format import AnthropicMessagesFormat
from ideaforge_gateway.adapters.http.client import HttpTimeouts, build_http_client
from ideaforge_gateway.adapters.http.token_auth import HeaderAuth, TokenSourceAuth
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.adapters.http_llm_provider import HttpLLMProvider
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    GatewayError,
    InvalidRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    ProviderUnavailableError,
    RateLimitedError,
)
from ideaforge_gateway.domain.models import (
    ChatMessage,
    ChatOptions,
    ChatRequest,
    ProviderName,
    StreamDelta,
    ToolCall,
    ToolSpec,
)
from tests.support.fake_anthropic import MODELS, FakeAnthropic

MODEL = MODELS[0]
WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture
def anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def provider(http: HttpTransport, fake: FakeAnthropic, key: str | None = None) -> HttpLLMProvider:
    auth = HeaderAuth("x-api-key", "", SecretStr(key or fake.state.api_key))
    return HttpLLMProvider(http, base_url=fake.url, auth=auth, wire=AnthropicMessagesFormat())


def ask(text: str, model: str = MODEL, **kwargs: object) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage("user", text)], options=ChatOptions(**kwargs))  # type: ignore[arg-type]


async def collect(stream_of: HttpLLMProvider, request: ChatRequest) -> list[StreamDelta]:
    async with stream_of.stream(request) as deltas:
        return [delta async for delta in deltas]


async def test_chat_speaks_the_messages_format(http: HttpTransport, anthropic: FakeAnthropic) -> None:
    request = ChatRequest(MODEL, [ChatMessage("system", "Be brief."), ChatMessage("user", "hello there")])

    response = await provider(http, anthropic).chat(request)

    assert response.content == "echo: hello there"
    assert (response.provider, response.model, response.finish_reason) == (ProviderName.ANTHROPIC, MODEL, "stop")
    assert response.response_id == "msg_01fake"
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (15, 8, 23)
    sent = anthropic.state.last_body
    assert sent == {
        "model": MODEL,
        "max_tokens": 4096,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "hello there"}],
    }
    assert anthropic.state.last_headers["anthropic-version"] == "2023-06-01"


async def test_generation_settings_are_mapped(http: HttpTransport, anthropic: FakeAnthropic) -> None:
    await provider(http, anthropic).chat(ask("hi", max_tokens=64, temperature=0.2, stop=["END"]))

    sent = anthropic.state.last_body
    assert sent is not None
    assert (sent["max_tokens"], sent["temperature"], sent["stop_sequences"]) == (64, 0.2, ["END"])


async def test_stream_yields_text_then_a_final_delta_with_finish_and_usage(
    http: HttpTransport, anthropic: FakeAnthropic
) -> None:
    deltas = await collect(provider(http, anthropic), ask("one two three"))

    assert "".join(d.content or "" for d in deltas) == "echo: one two three"
    assert len([d for d in deltas if d.content]) == 4  # word by word, as the events came
    final = deltas[-1]
    assert final.finish_reason == "stop" and final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (12, 8)
    assert anthropic.state.last_body is not None and anthropic.state.last_body["stream"] is True


async def test_streamed_tool_call_fragments_are_reassembled(http: HttpTransport, anthropic: FakeAnthropic) -> None:
    # A text block comes first, so the tool's content-block index is 1 while its ordinal is 0.
    anthropic.state.text_before_tool = "Let me check."
    deltas = await collect(provider(http, anthropic), ask("Weather?", tools=[WEATHER]))

    fragments = [f for d in deltas for f in d.tool_calls]
    assert len(fragments) == 3 and {f.index for f in fragments} == {0}
    assert (fragments[0].id, fragments[0].name) == ("toolu_01A", "get_weather")
    assert json.loads("".join(f.arguments for f in fragments)) == {"city": "Paris"}
    assert "".join(d.content or "" for d in deltas) == "Let me check."
    assert deltas[-1].finish_reason == "tool_calls"


async def test_tool_call_round_trip(http: HttpTransport, anthropic: FakeAnthropic) -> None:
    client = provider(http, anthropic)
    question = [ChatMessage("user", "Weather in Paris?")]

    first = await client.chat(
        ChatRequest(MODEL, question, options=ChatOptions(tools=[WEATHER], tool_choice="required"))
    )
    assert first.finish_reason == "tool_calls" and first.content is None
    (call,) = first.tool_calls
    assert (call.id, call.name, json.loads(call.arguments)) == ("toolu_01A", "get_weather", {"city": "Paris"})
    sent = anthropic.state.last_body
    assert sent is not None
    assert sent["tools"] == [
        {"name": "get_weather", "description": "Weather for a city", "input_schema": WEATHER.parameters}
    ]
    assert sent["tool_choice"] == {"type": "any"}

    follow_up = [
        *question,
        ChatMessage("assistant", None, tool_calls=(call,)),
        ChatMessage("tool", "sunny, 21 C", tool_call_id=call.id),
    ]
    second = await client.chat(ChatRequest(MODEL, follow_up, options=ChatOptions(tools=[WEATHER])))

    assert second.content == "The tool said: sunny, 21 C" and second.finish_reason == "stop"
    sent = anthropic.state.last_body
    assert sent is not None
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": call.id, "name": "get_weather", "input": {"city": "Paris"}}],
    }
    assert sent["messages"][2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21 C"}],
    }


async def test_parallel_tool_results_go_back_in_one_user_message(http: HttpTransport, anthropic: FakeAnthropic) -> None:
    calls = (ToolCall("toolu_1", "get_weather", '{"city": "Paris"}'), ToolCall("toolu_2", "get_weather", "{}"))
    messages = [
        ChatMessage("user", "Paris and Rome?"),
        ChatMessage("assistant", "Checking both.", tool_calls=calls),
        ChatMessage("tool", "sunny", tool_call_id="toolu_1"),
        ChatMessage("tool", "rainy", tool_call_id="toolu_2"),
    ]

    response = await provider(http, anthropic).chat(ChatRequest(MODEL, messages, options=ChatOptions(tools=[WEATHER])))

    assert response.content == "The tool said: rainy"  # the fake accepted it: every tool_use was answered
    sent = anthropic.state.last_body
    assert sent is not None and len(sent["messages"]) == 3


async def test_list_models_follows_every_page(http: HttpTransport, anthropic: FakeAnthropic) -> None:
    models = await provider(http, anthropic).list_models()

    assert [m.id for m in models] == MODELS
    assert {m.provider for m in models} == {ProviderName.ANTHROPIC}
    assert anthropic.state.model_requests == 2  # pages of two


async def test_a_bad_key_fails_the_listing_with_an_authentication_error(
    http: HttpTransport, anthropic: FakeAnthropic
) -> None:
    with pytest.raises(AuthenticationError, match="authentication_error") as caught:
        await provider(http, anthropic, key="sk-ant-wrong").list_models()
    assert caught.value.provider is ProviderName.ANTHROPIC
    assert anthropic.state.rejected_auth == 1


async def test_through_a_gateway_route_with_a_bearer_token(http: HttpTransport) -> None:
    with FakeAnthropic(prefix="/inst-42", bearer="svc:secret") as gateway:
        source = StaticKeyTokenSource(client_id=SecretStr("svc"), client_secret=SecretStr("secret"))
        client = HttpLLMProvider(
            http,
            base_url=gateway.url,
            auth=TokenSourceAuth(source),
            wire=AnthropicMessagesFormat(ProviderName.AI_GATEWAY),
        )
        response = await client.chat(ask("via the gateway"))
        assert response.content == "echo: via the gateway"
        assert response.provider is ProviderName.AI_GATEWAY
        assert [m.id for m in await client.list_models()] == MODELS
        assert "x-api-key" not in gateway.state.last_headers


@pytest.mark.parametrize("how", ["chat", "stream"])
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (503, ProviderUnavailableError),
        (529, ProviderUnavailableError),
        (500, ProviderUnavailableError),
        (400, InvalidRequestError),
        (403, PermissionDeniedError),
    ],
)
async def test_failures_map_to_domain_errors(
    http: HttpTransport, anthropic: FakeAnthropic, how: str, status: int, error: type[GatewayError]
) -> None:
    anthropic.state.failures = [status]
    client = provider(http, anthropic)
    with pytest.raises(error, match=f"HTTP {status}") as caught:
        await (client.chat(ask("hi")) if how == "chat" else collect(client, ask("hi")))
    assert caught.value.provider is ProviderName.ANTHROPIC
    assert "fake failure" not in str(caught.value)  # the vendor's message is never echoed
    assert anthropic.state.message_requests == 1  # one attempt per call


@pytest.mark.parametrize("how", ["chat", "stream"])
async def test_rate_limit_carries_retry_after(http: HttpTransport, anthropic: FakeAnthropic, how: str) -> None:
    anthropic.state.failures = [429]
    anthropic.state.retry_after = "7"
    client = provider(http, anthropic)
    with pytest.raises(RateLimitedError, match="rate_limit_error") as caught:
        await (client.chat(ask("hi")) if how == "chat" else collect(client, ask("hi")))
    assert caught.value.retry_after == 7


async def test_unknown_model_is_model_not_found(http: HttpTransport, anthropic: FakeAnthropic) -> None:
    with pytest.raises(ModelNotFoundError, match="claude-nope"):
        await provider(http, anthropic).chat(ask("hi", model="claude-nope"))
    with pytest.raises(ModelNotFoundError, match="not_found_error"):
        await collect(provider(http, anthropic), ask("hi", model="claude-nope"))


async def test_a_malformed_body_is_unavailable(http: HttpTransport, anthropic: FakeAnthropic) -> None:
    anthropic.state.malformed = 1
    with pytest.raises(ProviderUnavailableError, match="malformed"):
        await provider(http, anthropic).chat(ask("hi"))


async def test_a_cut_stream_is_unavailable_after_some_deltas(http: HttpTransport, anthropic: FakeAnthropic) -> None:
    anthropic.state.stream_cut_after = 5  # message_start, ping, block start, two words
    received: list[StreamDelta] = []
    with pytest.raises(ProviderUnavailableError, match="ended before it was complete"):
        async with provider(http, anthropic).stream(ask("a b c d e")) as deltas:
            async for delta in deltas:
                received.append(delta)
    assert [d.content for d in received] == ["echo: ", "a "]
    assert all(d.finish_reason is None for d in received)


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("overloaded_error", ProviderUnavailableError),
        ("api_error", ProviderUnavailableError),
        ("rate_limit_error", RateLimitedError),
    ],
)
async def test_an_error_event_mid_stream_maps_to_its_domain_error(
    http: HttpTransport, anthropic: FakeAnthropic, kind: str, error: type[GatewayError]
) -> None:
    anthropic.state.stream_error_after = 4
    anthropic.state.stream_error_type = kind
    received: list[StreamDelta] = []
    with pytest.raises(error, match=kind):
        async with provider(http, anthropic).stream(ask("a b c")) as deltas:
            async for delta in deltas:
                received.append(delta)
    assert received and received[0].content == "echo: "


async def test_a_hanging_upstream_times_out_as_unavailable(anthropic: FakeAnthropic) -> None:
    http = HttpTransport(build_http_client(HttpTimeouts(connect=1.0, read=0.3)))
    try:
        anthropic.state.delay = 0.6  # outlasts the read timeout, ends before the server stops
        with pytest.raises(ProviderUnavailableError, match="timed out"):
            await provider(http, anthropic).chat(ask("slow"))
    finally:
        await http.aclose()


async def test_unparseable_tool_arguments_are_refused_before_sending(
    http: HttpTransport, anthropic: FakeAnthropic
) -> None:
    messages = [
        ChatMessage("user", "hi"),
        ChatMessage("assistant", None, tool_calls=(ToolCall("toolu_9", "get_weather", "{not json"),)),
        ChatMessage("tool", "sunny", tool_call_id="toolu_9"),
    ]
    with pytest.raises(InvalidRequestError, match="toolu_9"):
        await provider(http, anthropic).chat(ChatRequest(MODEL, messages))
    assert anthropic.state.message_requests == 0


CANARY = "sk-ant-canary-4c1d-a9e7"


async def test_the_api_key_appears_in_no_error_repr_or_log(
    http: HttpTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with FakeAnthropic(api_key=CANARY) as fake:
        good = provider(http, fake)
        bad = provider(http, fake, key=CANARY + "x")
        texts.append(repr(good))
        await good.chat(ask("hi"))
        fake.state.failures = [500, 429]
        fake.state.stream_error_after = 3
        attempts = [
            bad.list_models(),
            bad.chat(ask("hi")),
            good.chat(ask("hi")),
            good.chat(ask("hi")),
            good.chat(ask("hi", model="claude-nope")),
            collect(good, ask("hi")),
            collect(bad, ask("hi")),
        ]
        for attempt in attempts:
            with pytest.raises(GatewayError) as caught:
                await attempt
            texts += [str(caught.value), repr(caught.value), "".join(traceback.format_exception(caught.value))]
    texts.append(caplog.text)
    everything = "\n".join(texts)
    assert len(everything) > 500
    assert "canary" not in everything
