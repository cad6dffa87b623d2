"""The official `openai` SDK and Agno's `OpenAILike`, pointed at `/v1`, work."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.integration.http.conftest import bearer
from tests.integration.http.test_api import configure_alice
from tests.support.fake_ai_gateway import MODELS, FakeAIGateway
from tests.support.live_server import LiveServer


@pytest.fixture
def alice(server: LiveServer, client: httpx.Client, user_gateway: FakeAIGateway) -> str:
    token = server.create_user("alice")
    assert configure_alice(client, token, user_gateway, aiGatewayDefaultModel=None).status_code == 200
    return token


def sdk(server: LiveServer, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=token, max_retries=0, timeout=30)


def test_sdk_lists_models_with_the_tiers_first(server: LiveServer, alice: str) -> None:
    ids = [m.id for m in sdk(server, alice).models.list()]
    assert ids == ["fast", "standard", "premium", *MODELS]


def test_sdk_completion_with_a_tier_as_the_model(server: LiveServer, alice: str, user_gateway: FakeAIGateway) -> None:
    raw = sdk(server, alice).chat.completions.with_raw_response.create(
        model="fast", messages=[{"role": "user", "content": "hi there"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hi there"
    assert completion.model == "gpt-4o-mini"
    assert completion.usage is not None and completion.usage.total_tokens == 18
    assert raw.headers["x-ideaforge-provider"] == "ai_gateway"
    assert raw.headers["x-ideaforge-model"] == "gpt-4o-mini"
    assert raw.headers["x-ideaforge-attempts"] == "1"
    assert user_gateway.state.last_chat_body is not None and user_gateway.state.last_chat_body["model"] == "gpt-4o-mini"


def test_sdk_streamed_completion(server: LiveServer, alice: str) -> None:
    stream = sdk(server, alice).chat.completions.create(
        model="standard",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 18
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)


def test_sdk_tool_call_round_trip(server: LiveServer, alice: str) -> None:
    client = sdk(server, alice)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather?"}]
    first = client.chat.completions.create(model="fast", messages=messages, tools=tools)  # type: ignore[arg-type]
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    second = client.chat.completions.create(model="fast", messages=messages, tools=tools)  # type: ignore[arg-type]
    assert second.choices[0].message.content == "The tool said: sunny"


def test_sdk_sees_errors_in_openais_shape(server: LiveServer, alice: str) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        sdk(server, alice).chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["code"] == "model_not_found"  # type: ignore[index]
    with pytest.raises(openai.AuthenticationError):
        sdk(server, "ifg_wrong").models.list()


def test_a_stream_broken_after_content_ends_with_an_error_not_done(
    server: LiveServer, client: httpx.Client, alice: str, user_gateway: FakeAIGateway
) -> None:
    user_gateway.state.stream_cut_after = 2
    body = {"model": "fast", "messages": [{"role": "user", "content": "a b c d"}], "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=body, headers=bearer(alice)) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    assert "[DONE]" not in text
    last = [line for line in text.split("\n\n") if line][-1]
    assert json.loads(last.removeprefix("data: "))["error"]["code"] == "stream_interrupted"
    with pytest.raises(openai.APIError):
        list(sdk(server, alice).chat.completions.create(model="fast", messages=body["messages"], stream=True))  # type: ignore[arg-type]


def test_sdk_gets_an_in_band_error_event_after_content_as_an_error(
    server: LiveServer, alice: str, user_gateway: FakeAIGateway
) -> None:
    # Issue 13, case 3: `data: {"error": ...}` then `[DONE]` upstream is no clean finish downstream.
    user_gateway.state.stream_error_after = 3
    chunks = []
    with pytest.raises(openai.APIError):
        for chunk in sdk(server, alice).chat.completions.create(
            model="fast", messages=[{"role": "user", "content": "a b c d"}], stream=True
        ):
            chunks.append(chunk)
    assert chunks and not any(c.choices and c.choices[0].finish_reason for c in chunks)


def test_sdk_assembles_parallel_tool_calls_streamed_without_index(
    server: LiveServer, alice: str, user_gateway: FakeAIGateway
) -> None:
    # Issue 13, case 4: as Gemini's OpenAI-compatible endpoint sends them, each call whole with its id.
    user_gateway.state.parallel_tool_calls = 2
    user_gateway.state.tool_calls_unindexed = True
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    calls: dict[int, dict[str, str]] = {}
    for chunk in sdk(server, alice).chat.completions.create(
        model="fast",
        messages=[{"role": "user", "content": "weather?"}],
        tools=[tool],
        stream=True,  # type: ignore[list-item]
    ):
        for fragment in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            call = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
            call["id"] = fragment.id or call["id"]
            call["name"] += (fragment.function.name or "") if fragment.function else ""
            call["arguments"] += (fragment.function.arguments or "") if fragment.function else ""
    assert sorted(calls) == [0, 1]
    assert [json.loads(calls[i]["arguments"])["city"] for i in (0, 1)] == ["Paris", "Rome"]
    assert calls[0]["name"] == calls[1]["name"] == "get_weather"
    assert calls[0]["id"] != calls[1]["id"]


def test_reasoning_content_reaches_the_client_and_goes_back_upstream_in_history(
    server: LiveServer, alice: str, user_gateway: FakeAIGateway
) -> None:
    # Issue 13, case 6: a reasoning model's `reasoning_content`, answered, streamed, and sent back.
    user_gateway.state.reasoning = "Think first."
    client = sdk(server, alice)
    question = {"role": "user", "content": "why?"}
    answer = client.chat.completions.create(model="fast", messages=[question])  # type: ignore[list-item]
    assert (answer.choices[0].message.model_extra or {})["reasoning_content"] == "Think first."
    streamed = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
        for c in client.chat.completions.create(model="fast", messages=[question], stream=True)  # type: ignore[list-item]
        if c.choices
    )
    assert streamed == "Think first."

    history = [
        question,
        {"role": "assistant", "content": "Because.", "reasoning_content": "Think first."},
        {"role": "user", "content": "and then?"},
    ]
    client.chat.completions.create(model="fast", messages=history)  # type: ignore[arg-type]
    upstream = user_gateway.state.last_chat_body
    assert upstream is not None and upstream["messages"][1]["reasoning_content"] == "Think first."


def test_sdk_sees_the_vendors_code_and_param(server: LiveServer, alice: str, user_gateway: FakeAIGateway) -> None:
    # Issue 13, case 8: the vendor's documented code and its `param`, in OpenAI's error shape.
    user_gateway.state.chat_failures = [400]
    user_gateway.state.chat_error = ("context_length_exceeded", "messages")
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(server, alice).chat.completions.create(model="fast", messages=[{"role": "user", "content": "x"}])
    body = caught.value.body
    assert isinstance(body, dict)
    assert (body["code"], body["param"]) == ("context_length_exceeded", "messages")
    assert body["type"] == "invalid_request_error"


def test_an_undocumented_vendor_code_is_withheld_from_the_errors_code(
    server: LiveServer, alice: str, user_gateway: FakeAIGateway
) -> None:
    # Issue 18, case 7's allow-list holds for the structured code too: it may be an echoed credential.
    user_gateway.state.chat_failures = [400]
    user_gateway.state.chat_error = ("sk_live_abcdef123", None)
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(server, alice).chat.completions.create(model="fast", messages=[{"role": "user", "content": "x"}])
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "invalid_request_error"  # the vendor's type, documented
    assert "sk_live_abcdef123" not in json.dumps(body)


def test_agno_openailike_runs_against_v1(server: LiveServer, alice: str) -> None:
    from agno.agent import Agent
    from agno.models.openai.like import OpenAILike

    agent = Agent(model=OpenAILike(id="fast", base_url=f"{server.url}/v1", api_key=alice), telemetry=False)
    output = agent.run("hello agno")
    assert output.content == "echo: hello agno"
    streamed = "".join(
        event.content or ""
        for event in agent.run("stream agno", stream=True)
        if getattr(event, "event", "") == "RunContent"
    )
    assert streamed == "echo: stream agno"


def test_a_malformed_body_is_a_400_in_openais_shape_naming_the_parameter(server: LiveServer, alice: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(server, alice).chat.completions.create(
            model="fast",
            messages=[{"role": "user", "content": "x"}],
            temperature="hot",  # type: ignore[arg-type]
        )
    assert caught.value.status_code == 400
    assert caught.value.body == {  # type: ignore[comparison-overlap]
        "message": caught.value.body["message"],  # type: ignore[index]
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "invalid_body",
    }
    assert "temperature" in caught.value.message


def test_every_provider_rate_limited_is_a_rate_limit_error(
    server: LiveServer, alice: str, user_gateway: FakeAIGateway
) -> None:
    user_gateway.state.chat_failures = [429] * 4
    user_gateway.state.chat_retry_after = "30"
    with pytest.raises(openai.RateLimitError) as caught:
        sdk(server, alice).chat.completions.create(model="fast", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 429
    assert caught.value.body["type"] == "rate_limit_error"  # type: ignore[index]
    assert caught.value.response.headers["Retry-After"] == "30"


def test_every_parameter_the_sdk_sends_reaches_the_upstream(
    server: LiveServer, alice: str, user_gateway: FakeAIGateway
) -> None:
    # Nothing is dropped or renamed between the route, the use case and the wire format: what
    # OpenAI's SDK sends arrives upstream as sent (issue 13, cases 1 and 2).
    sent = {
        "top_p": 0.5,
        "seed": 7,
        "presence_penalty": 0.25,
        "frequency_penalty": 0.5,
        "user": "end-user-1",
        "logit_bias": {"42": -5},
        "parallel_tool_calls": False,
        "response_format": {"type": "json_object"},
        "logprobs": True,
        "top_logprobs": 2,
        "reasoning_effort": "low",
        "max_completion_tokens": 64,
    }
    sdk(server, alice).chat.completions.create(
        model="fast",
        messages=[{"role": "user", "content": "hi"}],
        temperature=0.4,
        extra_body={"x_vendor_knob": {"a": 1}},
        **sent,  # type: ignore[arg-type]
    )
    upstream = user_gateway.state.last_chat_body
    assert upstream is not None
    assert {k: upstream.get(k) for k in sent} == sent
    assert upstream["x_vendor_knob"] == {"a": 1}
    assert upstream["temperature"] == 0.4
    assert "max_tokens" not in upstream  # reasoning models refuse it: never renamed (case 1)
