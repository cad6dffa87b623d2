"""The Gemini adapter against a loopback server that speaks the `generateContent` wire format."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from ideaforge_gateway.adapters.ai_gateway.oauth2_client_credentials_token_source import StaticKeyTokenSource
from ideaforge_gateway.adapters.gemini.generate_content_format import GeminiGenerateContentFormat
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
from tests.support.fake_gemini import CHAT_MODELS, FakeGemini

MODEL = "gemini-2.5-pro"
WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


def assert_key_stayed_out_of_urls(fake: FakeGemini) -> None:
    assert fake.state.key_in_url == 0
    assert not [url for url in fake.state.urls if fake.state.api_key in url]


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server
        # Every test doubles as a check that the key never travelled in a URL.
        assert_key_stayed_out_of_urls(server)


def provider(http: HttpTransport, fake: FakeGemini, key: str | None = None) -> HttpLLMProvider:
    auth = HeaderAuth("x-goog-api-key", "", SecretStr(key or fake.state.api_key))
    return HttpLLMProvider(http, base_url=fake.url, auth=auth, wire=GeminiGenerateContentFormat())


def ask(text: str, model: str = MODEL, **kwargs: object) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage("user", text)], options=ChatOptions(**kwargs))  # type: ignore[arg-type]


async def collect(stream_of: HttpLLMProvider, request: ChatRequest) -> list[StreamDelta]:
    async with stream_of.stream(request) as deltas:
        return [delta async for delta in deltas]


async def test_chat_speaks_the_generate_content_format(http: HttpTransport, gemini: FakeGemini) -> None:
    gemini.state.with_thought = True
    request = ChatRequest(
        MODEL,
        [ChatMessage("system", "Be brief."), ChatMessage("user", "hello there")],
        options=ChatOptions(temperature=0.3, max_tokens=99),
    )

    response = await provider(http, gemini).chat(request)

    assert response.content == "echo: hello there"  # the thought summary is not the answer
    assert (response.provider, response.model, response.finish_reason) == (ProviderName.GEMINI, MODEL, "stop")
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (9, 8, 17)
    assert gemini.state.last_body == {
        "contents": [{"role": "user", "parts": [{"text": "hello there"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.3, "maxOutputTokens": 99},
    }


async def test_stream_yields_text_then_a_final_delta_with_finish_and_usage(
    http: HttpTransport, gemini: FakeGemini
) -> None:
    deltas = await collect(provider(http, gemini), ask("one two three"))

    assert "".join(d.content or "" for d in deltas) == "echo: one two three"
    assert len([d for d in deltas if d.content]) == 4
    final = deltas[-1]
    assert final.finish_reason == "stop" and final.usage is not None and final.usage.total_tokens == 17
    assert all(d.finish_reason is None for d in deltas[:-1])
    assert any("alt=sse" in url and ":streamGenerateContent" in url for url in gemini.state.urls)


async def test_streamed_tool_calls_arrive_whole(http: HttpTransport, gemini: FakeGemini) -> None:
    deltas = await collect(provider(http, gemini), ask("Weather?", tools=[WEATHER]))

    (fragment,) = [f for d in deltas for f in d.tool_calls]
    assert (fragment.index, fragment.name) == (0, "get_weather")
    assert fragment.id is not None and fragment.id.startswith("call_")  # minted: Gemini sent none
    assert json.loads(fragment.arguments) == {"city": "Paris"}
    assert deltas[-1].finish_reason == "tool_calls"


async def test_tool_call_round_trip(http: HttpTransport, gemini: FakeGemini) -> None:
    client = provider(http, gemini)
    question = [ChatMessage("user", "Weather in Paris?")]

    first = await client.chat(
        ChatRequest(MODEL, question, options=ChatOptions(tools=[WEATHER], tool_choice="required"))
    )
    assert first.finish_reason == "tool_calls" and first.content is None
    (call,) = first.tool_calls
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Paris"})
    sent = gemini.state.last_body
    assert sent is not None
    declaration = sent["tools"][0]["functionDeclarations"][0]
    assert "additionalProperties" not in declaration["parameters"]  # Gemini would refuse the request
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}

    follow_up = [
        *question,
        ChatMessage("assistant", None, tool_calls=(call,)),
        ChatMessage("tool", "sunny, 21 C", tool_call_id=call.id),
    ]
    second = await client.chat(ChatRequest(MODEL, follow_up, options=ChatOptions(tools=[WEATHER])))

    assert second.content == "The tool said: sunny, 21 C" and second.finish_reason == "stop"
    sent = gemini.state.last_body
    assert sent is not None
    assert sent["contents"][1] == {
        "role": "model",
        "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
    }
    assert sent["contents"][2] == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": {"content": "sunny, 21 C"}}}],
    }


async def test_parallel_tool_results_go_back_in_one_turn(http: HttpTransport, gemini: FakeGemini) -> None:
    calls = (ToolCall("call_0", "get_weather", '{"city": "Paris"}'), ToolCall("call_1", "get_time", "{}"))
    messages = [
        ChatMessage("user", "Weather and time in Paris?"),
        ChatMessage("assistant", None, tool_calls=calls),
        ChatMessage("tool", "sunny", tool_call_id="call_0"),
        ChatMessage("tool", "noon", tool_call_id="call_1"),
    ]

    response = await provider(http, gemini).chat(
        ChatRequest(MODEL, messages, options=ChatOptions(tools=[WEATHER, ToolSpec("get_time")]))
    )

    assert response.content == "The tool said: noon"  # the fake accepted it: both calls were answered
    sent = gemini.state.last_body
    assert sent is not None and len(sent["contents"]) == 3
    assert sent["tools"][0]["functionDeclarations"][1] == {"name": "get_time"}  # no empty OBJECT schema


async def test_list_models_follows_pages_and_keeps_chat_models(http: HttpTransport, gemini: FakeGemini) -> None:
    models = await provider(http, gemini).list_models()

    assert [m.id for m in models] == CHAT_MODELS  # "models/" stripped, the embedding model left out
    assert {m.provider for m in models} == {ProviderName.GEMINI}
    assert gemini.state.model_requests == 2


async def test_a_bad_key_fails_the_listing_with_an_authentication_error(
    http: HttpTransport, gemini: FakeGemini
) -> None:
    # Gemini answers a bad key with HTTP 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
    with pytest.raises(AuthenticationError, match="API_KEY_INVALID") as caught:
        await provider(http, gemini, key="AIza-wrong").list_models()
    assert caught.value.provider is ProviderName.GEMINI
    assert gemini.state.rejected_auth == 1


async def test_through_a_gateway_route_with_a_bearer_token(http: HttpTransport) -> None:
    with FakeGemini(prefix="/inst-42", bearer="svc:secret") as gateway:
        source = StaticKeyTokenSource(client_id=SecretStr("svc"), client_secret=SecretStr("secret"))
        client = HttpLLMProvider(
            http,
            base_url=gateway.url,
            auth=TokenSourceAuth(source),
            wire=GeminiGenerateContentFormat(ProviderName.AI_GATEWAY),
        )
        response = await client.chat(ask("via the gateway"))
        assert response.content == "echo: via the gateway" and response.provider is ProviderName.AI_GATEWAY
        assert [m.id for m in await client.list_models()] == CHAT_MODELS


@pytest.mark.parametrize("how", ["chat", "stream"])
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (503, ProviderUnavailableError),
        (500, ProviderUnavailableError),
        (400, InvalidRequestError),
        (403, PermissionDeniedError),
    ],
)
async def test_failures_map_to_domain_errors(
    http: HttpTransport, gemini: FakeGemini, how: str, status: int, error: type[GatewayError]
) -> None:
    gemini.state.failures = [status]
    client = provider(http, gemini)
    with pytest.raises(error, match=f"HTTP {status}") as caught:
        await (client.chat(ask("hi")) if how == "chat" else collect(client, ask("hi")))
    assert caught.value.provider is ProviderName.GEMINI
    assert "fake failure" not in str(caught.value)  # the vendor's message is never echoed
    assert gemini.state.generate_requests == 1  # one attempt per call


@pytest.mark.parametrize(("header", "body_delay", "expected"), [("7", None, 7.0), (None, "37s", 37.0)])
async def test_rate_limit_carries_retry_after_from_header_or_retry_info(
    http: HttpTransport, gemini: FakeGemini, header: str | None, body_delay: str | None, expected: float
) -> None:
    gemini.state.failures = [429]
    gemini.state.retry_after = header
    gemini.state.retry_delay = body_delay
    with pytest.raises(RateLimitedError, match="RESOURCE_EXHAUSTED") as caught:
        await provider(http, gemini).chat(ask("hi"))
    assert caught.value.retry_after == expected


async def test_unknown_model_is_model_not_found(http: HttpTransport, gemini: FakeGemini) -> None:
    with pytest.raises(ModelNotFoundError, match="gemini-nope"):
        await provider(http, gemini).chat(ask("hi", model="gemini-nope"))
    with pytest.raises(ModelNotFoundError, match="NOT_FOUND"):
        await collect(provider(http, gemini), ask("hi", model="gemini-nope"))


async def test_a_model_id_that_would_escape_its_url_segment_is_not_sent(
    http: HttpTransport, gemini: FakeGemini
) -> None:
    with pytest.raises(ModelNotFoundError, match="not a Gemini model id"):
        await provider(http, gemini).chat(ask("hi", model="../models?x=1"))
    assert gemini.state.generate_requests == 0


async def test_a_malformed_body_is_unavailable(http: HttpTransport, gemini: FakeGemini) -> None:
    gemini.state.malformed = 1
    with pytest.raises(ProviderUnavailableError, match="malformed"):
        await provider(http, gemini).chat(ask("hi"))


async def test_a_stream_without_a_finish_reason_is_unavailable_after_some_deltas(
    http: HttpTransport, gemini: FakeGemini
) -> None:
    gemini.state.stream_cut_after = 2
    received: list[StreamDelta] = []
    with pytest.raises(ProviderUnavailableError, match="ended before it was complete"):
        async with provider(http, gemini).stream(ask("a b c d e")) as deltas:
            async for delta in deltas:
                received.append(delta)
    assert [d.content for d in received] == ["echo: ", "a "]


async def test_an_error_chunk_mid_stream_is_unavailable(http: HttpTransport, gemini: FakeGemini) -> None:
    gemini.state.stream_error_after = 1
    received: list[StreamDelta] = []
    with pytest.raises(ProviderUnavailableError, match="UNAVAILABLE"):
        async with provider(http, gemini).stream(ask("a b c")) as deltas:
            async for delta in deltas:
                received.append(delta)
    assert [d.content for d in received] == ["echo: "]


async def test_a_hanging_upstream_times_out_as_unavailable(gemini: FakeGemini) -> None:
    http = HttpTransport(build_http_client(HttpTimeouts(connect=1.0, read=0.3)))
    try:
        gemini.state.delay = 0.6  # outlasts the read timeout, ends before the server stops
        with pytest.raises(ProviderUnavailableError, match="timed out"):
            await provider(http, gemini).chat(ask("slow"))
    finally:
        await http.aclose()


CANARY = "AIza-canary-6e0b-77f2"


async def test_the_api_key_appears_in_no_url_error_repr_or_log(
    http: HttpTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with FakeGemini(api_key=CANARY) as fake:
        good = provider(http, fake)
        bad = provider(http, fake, key=CANARY + "x")
        texts.append(repr(good))
        await good.chat(ask("hi"))
        await good.list_models()
        await collect(good, ask("hi"))
        fake.state.failures = [500, 429]
        fake.state.stream_error_after = 1
        attempts = [
            bad.list_models(),
            bad.chat(ask("hi")),
            good.chat(ask("hi")),
            good.chat(ask("hi")),
            good.chat(ask("hi", model="gemini-nope")),
            collect(good, ask("hi")),
            collect(bad, ask("hi")),
        ]
        for attempt in attempts:
            with pytest.raises(GatewayError) as caught:
                await attempt
            texts += [str(caught.value), repr(caught.value), "".join(traceback.format_exception(caught.value))]
        texts += fake.state.urls
        assert_key_stayed_out_of_urls(fake)
    texts.append(caplog.text)
    everything = "\n".join(texts)
    assert len(everything) > 500
    assert "canary" not in everything
