"""The AI Gateway adapter against a real loopback gateway: tokens, discovery, chat, streaming."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time

import pytest
from pydantic import SecretStr

from ideaforge_gateway.adapters.ai_gateway.ai_gateway_client import AIGatewayClient
from ideaforge_gateway.adapters.ai_gateway.oauth2_client_credentials_token_source import (
    OAuth2ClientCredentialsTokenSource,
)
from ideaforge_gateway.adapters.http.client import build_http_client
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.adapters.http_provider_factory import AIGatewayDefaults, HttpProviderFactory
from ideaforge_gateway.domain.credentials import AuthMethod, ProviderCredentials
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    ModelNotFoundError,
    ProviderUnavailableError,
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
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider
from tests.support.fake_ai_gateway import MODELS, FakeAIGateway


def gateway_client(
    http: HttpTransport,
    gateway: FakeAIGateway,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC,
    token_url: str | None = None,
    openai_route: str | None = None,
    scope: str | None = None,
) -> AIGatewayClient:
    factory = HttpProviderFactory(
        http,
        ai_gateway=AIGatewayDefaults(
            base_url=gateway.url, auth_method=auth_method, token_url=token_url, openai_route=openai_route, scope=scope
        ),
    )
    credentials = ProviderCredentials(
        provider=ProviderName.AI_GATEWAY,
        api_key=SecretStr(client_id or gateway.state.client_id),
        client_secret=SecretStr(client_secret or gateway.state.client_secret),
    )
    client = factory.build(credentials)
    assert isinstance(client, AIGatewayClient)
    return client


async def collect(source: LLMProvider, request: ChatRequest) -> list[StreamDelta]:
    async with source.stream(request) as deltas:
        return [delta async for delta in deltas]


def ask(text: str, model: str = "gpt-4o", **kwargs: object) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage("user", text)], options=ChatOptions(**kwargs))  # type: ignore[arg-type]


async def test_verify_obtains_a_token_then_lists_models(http: HttpTransport, gateway: FakeAIGateway) -> None:
    models = await gateway_client(http, gateway).verify()

    assert [m.id for m in models] == MODELS
    assert gateway.state.token_requests == 1


async def test_chat_answers_with_content_and_usage(http: HttpTransport, gateway: FakeAIGateway) -> None:
    response = await gateway_client(http, gateway).chat(ask("hello there"))

    assert response.content == "echo: hello there"
    assert response.provider is ProviderName.AI_GATEWAY
    assert response.model == "gpt-4o"
    assert response.usage is not None and response.usage.total_tokens == 18
    assert response.finish_reason == "stop"


async def test_stream_yields_deltas_then_usage(http: HttpTransport, gateway: FakeAIGateway) -> None:
    deltas = await collect(gateway_client(http, gateway), ask("one two three"))

    assert "".join(d.content or "" for d in deltas) == "echo: one two three"
    assert deltas[-1].usage is not None and deltas[-1].usage.total_tokens == 18
    assert any(d.finish_reason == "stop" for d in deltas)
    assert gateway.state.last_chat_body is not None
    assert gateway.state.last_chat_body["stream_options"] == {"include_usage": True}


async def test_stream_arrives_incrementally(http: HttpTransport, gateway: FakeAIGateway) -> None:
    # The server holds the rest of the stream until the test has seen the first words: a
    # transport that buffered the whole body would wait here until the read timeout.
    gate = threading.Event()
    gateway.state.stream_gate = gate
    seen: list[str] = []
    async with gateway_client(http, gateway).stream(ask("alpha beta gamma")) as stream:
        async for delta in stream:
            if delta.content:
                seen.append(delta.content)
                gate.set()
    assert seen[0] == "echo: "  # what was sent before the gate, handed on without waiting for more
    assert "".join(seen) == "echo: alpha beta gamma"


async def test_stream_cut_short_is_an_error_not_a_finish(http: HttpTransport, gateway: FakeAIGateway) -> None:
    gateway.state.stream_cut_after = 2
    received: list[str] = []
    with pytest.raises(ProviderUnavailableError, match="ended before it was complete"):
        async with gateway_client(http, gateway).stream(ask("a b c d e")) as deltas:
            async for delta in deltas:
                received.append(delta.content or "")
    assert received  # content arrived before the cut: the caller must not mistake it for a finish


async def test_tool_call_round_trip(http: HttpTransport, gateway: FakeAIGateway) -> None:
    client = gateway_client(http, gateway)
    weather = ToolSpec(
        name="get_weather",
        description="Weather for a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    question = [ChatMessage("user", "Weather in Paris?")]

    first = await client.chat(ChatRequest(model="gpt-4o", messages=question, options=ChatOptions(tools=[weather])))
    assert first.finish_reason == "tool_calls"
    (call,) = first.tool_calls
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}

    follow_up = [
        *question,
        ChatMessage("assistant", None, tool_calls=(ToolCall(call.id, call.name, call.arguments),)),
        ChatMessage("tool", "sunny, 21 C", tool_call_id=call.id),
    ]
    second = await client.chat(ChatRequest(model="gpt-4o", messages=follow_up, options=ChatOptions(tools=[weather])))
    assert second.content == "The tool said: sunny, 21 C"
    sent = gateway.state.last_chat_body
    assert sent is not None
    assert sent["messages"][1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][2] == {"role": "tool", "content": "sunny, 21 C", "tool_call_id": call.id}


async def test_streamed_tool_call_fragments_share_an_index(http: HttpTransport, gateway: FakeAIGateway) -> None:
    weather = ToolSpec(name="get_weather")
    request = ChatRequest(
        model="gpt-4o", messages=[ChatMessage("user", "Weather?")], options=ChatOptions(tools=[weather])
    )
    deltas = await collect(gateway_client(http, gateway), request)
    fragments = [f for d in deltas for f in d.tool_calls]
    assert {f.index for f in fragments} == {0}
    assert json.loads("".join(f.arguments for f in fragments)) == {"city": "Paris"}
    assert fragments[0].name == "get_weather" and fragments[0].id == "call_1"


async def test_unknown_model_is_model_not_found(http: HttpTransport, gateway: FakeAIGateway) -> None:
    with pytest.raises(ModelNotFoundError, match="no-such-model"):
        await gateway_client(http, gateway).chat(ask("hi", model="no-such-model"))


async def test_200_concurrent_calls_from_a_cold_cache_share_one_token(
    http: HttpTransport, gateway: FakeAIGateway
) -> None:
    gateway.state.token_delay = 0.2  # keep the first request in flight while the others arrive
    client = gateway_client(http, gateway)

    responses = await asyncio.gather(*(client.chat(ask(f"n{i}")) for i in range(200)))

    assert [r.content for r in responses] == [f"echo: n{i}" for i in range(200)]
    assert gateway.state.token_requests == 1


@pytest.mark.slow
async def test_tokens_are_refreshed_before_expiry_and_never_sent_expired(
    http: HttpTransport, gateway: FakeAIGateway
) -> None:
    # Lifetime 3 s, so the leeway is min(60 s, 1.5 s) = 1.5 s: a new token about every 1.5 s.
    # The bounds follow the time that actually passed, so a slow machine changes no verdict.
    gateway.state.token_lifetime = 3
    client = gateway_client(http, gateway)
    started = time.monotonic()
    while time.monotonic() < started + 10:
        await asyncio.gather(*(client.chat(ask("tick")) for _ in range(5)))
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started

    assert gateway.state.expired_token_uses == 0
    assert gateway.state.rejected_token_uses == 0
    # Refreshed (more than the first token), and never more often than once per leeway.
    assert 2 <= gateway.state.token_requests <= math.ceil(elapsed / 1.5) + 1, (gateway.state.token_requests, elapsed)


async def test_a_revoked_token_is_replaced_once_and_the_call_succeeds(
    http: HttpTransport, gateway: FakeAIGateway
) -> None:
    client = gateway_client(http, gateway)
    await client.chat(ask("first"))
    gateway.revoke_all_tokens()

    response = await client.chat(ask("second"))

    assert response.content == "echo: second"
    assert gateway.state.token_requests == 2
    assert gateway.state.rejected_token_uses == 1


async def test_a_revoked_token_in_a_stream_is_replaced_too(http: HttpTransport, gateway: FakeAIGateway) -> None:
    client = gateway_client(http, gateway)
    await client.list_models()
    gateway.revoke_all_tokens()

    text = "".join(d.content or "" for d in await collect(client, ask("again")))

    assert text == "echo: again"
    assert gateway.state.token_requests == 2


async def test_bad_client_credentials_give_one_clear_error_and_no_retry_storm(
    http: HttpTransport, gateway: FakeAIGateway
) -> None:
    client = gateway_client(http, gateway, client_secret="wrong-secret")

    with pytest.raises(AuthenticationError) as caught:
        await asyncio.gather(*(client.chat(ask("hi")) for _ in range(20)))

    assert "invalid_client" in str(caught.value)
    assert "AI_GATEWAY_CLIENT_ID" in str(caught.value)
    assert gateway.state.token_requests == 1
    assert gateway.state.chat_requests == 0


@pytest.mark.parametrize("method", [AuthMethod.CLIENT_SECRET_BASIC, AuthMethod.CLIENT_SECRET_POST])
@pytest.mark.parametrize("secret", ["a+b:c=d/e%f", "%2B already-encoded %3A", "plain secret with spaces + more"])
async def test_secrets_with_reserved_characters_work(http: HttpTransport, method: AuthMethod, secret: str) -> None:
    with FakeAIGateway(client_id="id:with+odd/chars%", client_secret=secret, auth_method=method.value) as gateway:
        client = gateway_client(http, gateway, auth_method=method)
        assert len(await client.verify()) == len(MODELS)


async def test_static_key_sends_id_and_secret_as_the_bearer_without_exchange(
    http: HttpTransport,
) -> None:
    with FakeAIGateway(accept_static_key=True, discovery="none") as gateway:
        client = gateway_client(http, gateway, auth_method=AuthMethod.STATIC_KEY)
        response = await client.chat(ask("static"))
        assert response.content == "echo: static"
        assert gateway.state.token_requests == 0


async def test_discovery_falls_back_to_rfc8414_metadata(http: HttpTransport) -> None:
    with FakeAIGateway(discovery="oauth") as gateway:
        assert await gateway_client(http, gateway).verify()
        assert gateway.state.token_requests == 1


async def test_no_discoverable_token_endpoint_is_a_configuration_error(http: HttpTransport) -> None:
    with FakeAIGateway(discovery="none") as gateway, pytest.raises(ConfigurationError, match="AI_GATEWAY_TOKEN_URL"):
        await gateway_client(http, gateway).verify()


async def test_an_explicit_token_url_skips_discovery(http: HttpTransport) -> None:
    with FakeAIGateway(discovery="none") as gateway:
        client = gateway_client(http, gateway, token_url=f"{gateway.url}/oauth/token")
        assert await client.verify()


async def test_scope_is_sent_with_the_token_request(http: HttpTransport) -> None:
    with FakeAIGateway(expected_scope="models.read chat") as gateway:
        assert await gateway_client(http, gateway, scope="models.read chat").verify()
        assert gateway.state.seen_scopes == ["models.read chat"]
    with FakeAIGateway(expected_scope="needed") as gateway, pytest.raises(AuthenticationError, match="invalid_scope"):
        await gateway_client(http, gateway, scope="other").verify()


async def test_token_endpoint_outage_is_retried_with_retry_after(http: HttpTransport, gateway: FakeAIGateway) -> None:
    gateway.state.token_failures = [503, 503]
    gateway.state.token_retry_after = "0.1"
    started = time.monotonic()

    assert await gateway_client(http, gateway).verify()

    assert gateway.state.token_requests == 3
    assert time.monotonic() - started >= 0.2  # both Retry-After waits were honoured


async def test_token_endpoint_down_for_good_is_unavailable(http: HttpTransport, gateway: FakeAIGateway) -> None:
    gateway.state.token_failures = [500] * 10
    with pytest.raises(ProviderUnavailableError, match="HTTP 500"):
        await gateway_client(http, gateway).verify()
    assert gateway.state.token_requests == 3


async def test_a_failing_refresh_keeps_using_the_still_valid_token(http: HttpTransport) -> None:
    clock = [0.0]
    with FakeAIGateway(token_lifetime=3600) as gateway:
        source = OAuth2ClientCredentialsTokenSource(
            http,
            client_id=SecretStr(gateway.state.client_id),
            client_secret=SecretStr(gateway.state.client_secret),
            issuer_url=gateway.url,
            clock=lambda: clock[0],
            backoff_base=0.01,
        )
        first = await source.token()
        clock[0] = 3600 - 30  # inside the leeway: a refresh is due, but the token is still valid
        gateway.state.token_failures = [503] * 10

        assert await source.token() is first

        clock[0] = 3600 + 1  # expired: no more excuses
        with pytest.raises(ProviderUnavailableError):
            await source.token()


async def test_redirects_are_never_followed_with_credentials(http: HttpTransport, gateway: FakeAIGateway) -> None:
    client = gateway_client(http, gateway, openai_route=f"{gateway.url}/redirect/v1")
    with pytest.raises(ProviderUnavailableError, match="HTTP 307"):
        await client.chat(ask("follow me"))
    assert gateway.state.chat_requests == 0


async def test_a_refused_connection_is_unavailable(http: HttpTransport) -> None:
    with FakeAIGateway() as gateway:
        url = gateway.url
    factory = HttpProviderFactory(http, ai_gateway=AIGatewayDefaults(base_url=url, token_url=f"{url}/oauth/token"))
    client = factory.build(
        ProviderCredentials(ProviderName.AI_GATEWAY, api_key=SecretStr("i"), client_secret=SecretStr("s"))
    )
    with pytest.raises(ProviderUnavailableError, match="could not connect"):
        await client.list_models()


async def test_a_hanging_upstream_times_out_as_unavailable(gateway: FakeAIGateway) -> None:
    from ideaforge_gateway.adapters.http.client import HttpTimeouts

    http = HttpTransport(build_http_client(HttpTimeouts(connect=1.0, read=0.3)))
    try:
        client = gateway_client(http, gateway)
        await client.list_models()
        gateway.state.chat_delay = 2.0
        with pytest.raises(ProviderUnavailableError, match="timed out"):
            await client.chat(ask("slow"))
    finally:
        await http.aclose()


def test_threads_on_their_own_loops_each_get_the_token_without_waiting_on_each_other() -> None:
    # Callers on one loop share one request; a loop never waits on another's refresh (that loop may
    # be blocked by a sync call, or closed), so each loop refreshes at most once, and a token once
    # cached serves every loop.
    with FakeAIGateway(token_delay=0.3) as gateway:
        http = HttpTransport(build_http_client())
        source = OAuth2ClientCredentialsTokenSource(
            http,
            client_id=SecretStr(gateway.state.client_id),
            client_secret=SecretStr(gateway.state.client_secret),
            issuer_url=gateway.url,
        )
        values: list[str] = []
        lock = threading.Lock()

        async def eight_callers() -> list[str]:
            tokens = await asyncio.gather(*(source.token() for _ in range(8)))
            return [t.value.get_secret_value() for t in tokens]

        def worker() -> None:
            got = asyncio.run(eight_callers())
            with lock:
                values.extend(got)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)

        assert len(values) == 32 and 1 <= gateway.state.token_requests <= 4
        assert len(set(values)) == gateway.state.token_requests
        cached = asyncio.run(source.token()).value.get_secret_value()
        assert cached in values and gateway.state.token_requests <= 4
