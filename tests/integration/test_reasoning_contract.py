"""The reasoning rows of the README's parameter table, per wire format (issue 13): what the
loopback upstream received, and what the client got. `reasoning_effort` is forwarded
(OpenAI-compatible) or translated to the vendor's thinking controls; reasoning and signatures in
history go back as the vendor wrote them, or are refused by name; in-band stream errors keep
the vendor's code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.domain.errors import GatewayError, UnsupportedParameterError
from ideaforge_gateway.domain.models import ChatMessage, ChatOptions, ChatRequest, ToolCall
from tests.integration.test_wire_format_contract import WEATHER, Case, ask, case, collect, fake, provider

__all__ = ["case", "fake"]  # the fixtures, shared with the contract suite


def _thinking(body: dict[str, Any]) -> object:
    return body.get("generationConfig", {}).get("thinkingConfig")


async def test_reasoning_effort_is_forwarded_or_translated_to_the_thinking_controls(
    case: Case, fake: Any, http: HttpTransport
) -> None:
    response = await provider(case, fake, http).chat(ask(case, "hello there", extra={"reasoning_effort": "low"}))

    assert response.content == "echo: hello there"
    body = case.received(fake)
    if case.name == "openai_compat":
        assert body["reasoning_effort"] == "low"
    elif case.name == "anthropic":
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        assert body["max_tokens"] == 1024 + 4096
        assert "temperature" not in body
        assert response.reasoning_content and response.thinking_blocks[0]["signature"] in fake.state.issued
    else:
        assert _thinking(body) == {"includeThoughts": True, "thinkingBudget": 1024}
        assert response.reasoning_content == "Considering the question."


async def test_a_length_limit_with_reasoning_effort_caps_thinking_and_answer_together(
    case: Case, fake: Any, http: HttpTransport
) -> None:
    extra = {"reasoning_effort": "high", "max_completion_tokens": 2000}
    await provider(case, fake, http).chat(ask(case, "hello there", extra=extra))

    body = case.received(fake)
    if case.name == "openai_compat":
        assert (body["reasoning_effort"], body["max_completion_tokens"]) == ("high", 2000)
        assert "max_tokens" not in body
    elif case.name == "anthropic":
        assert (body["max_tokens"], body["thinking"]) == (2000, {"type": "enabled", "budget_tokens": 1999})
    else:
        assert body["generationConfig"]["maxOutputTokens"] == 2000
        assert _thinking(body) == {"includeThoughts": True, "thinkingBudget": 24576}


async def test_reasoning_effort_none_turns_thinking_off_or_is_refused_where_the_model_always_thinks(
    case: Case, fake: Any, http: HttpTransport
) -> None:
    request = ask(case, "hello there", extra={"reasoning_effort": "none"})
    if case.name == "gemini":  # gemini-2.5-pro cannot stop thinking
        with pytest.raises(UnsupportedParameterError) as refused:
            await provider(case, fake, http).chat(request)
        assert refused.value.param == "reasoning_effort"
        assert case.chat_requests(fake) == 0
        return
    await provider(case, fake, http).chat(request)
    body = case.received(fake)
    expected = {"type": "disabled"} if case.name == "anthropic" else None
    assert body.get("thinking") == expected
    if case.name == "openai_compat":
        assert body["reasoning_effort"] == "none"


async def test_reasoning_in_history_is_forwarded_translated_or_refused_by_name(
    case: Case, fake: Any, http: HttpTransport
) -> None:
    messages = [
        ChatMessage("user", "why?"),
        ChatMessage("assistant", "Because.", reasoning_content="Think first."),
        ChatMessage("user", "hello there"),
    ]
    request = ChatRequest(case.model, messages)
    if case.name == "anthropic":  # unsigned thinking: Anthropic takes thinking only with its signature
        with pytest.raises(UnsupportedParameterError) as refused:
            await provider(case, fake, http).chat(request)
        assert refused.value.param == "reasoning_content"
        assert case.chat_requests(fake) == 0
        return
    await provider(case, fake, http).chat(request)
    body = case.received(fake)
    if case.name == "openai_compat":
        assert body["messages"][1]["reasoning_content"] == "Think first."
    else:
        parts = body["contents"][1]["parts"]
        assert parts == [{"text": "Think first.", "thought": True}, {"text": "Because."}]


async def test_signatures_go_back_to_the_vendor_that_issued_them_and_to_no_other(
    case: Case, fake: Any, http: HttpTransport
) -> None:
    # An answer from each vendor, with its signature: issued by this fake where it is its own.
    first = await provider(case, fake, http).chat(
        ask(case, "Weather?", tools=[WEATHER], extra={"reasoning_effort": "low"})
    )
    assert first.tool_calls
    call = first.tool_calls[0]
    google = {"google": {"thought_signature": "gsig-from-gemini"}}
    signed_call = ToolCall(call.id, call.name, call.arguments, extra_content=call.extra_content or google)
    blocks = first.thinking_blocks or ({"type": "thinking", "thinking": "t", "signature": "sig-elsewhere"},)
    history = [
        ChatMessage("user", "Weather?"),
        ChatMessage("assistant", None, tool_calls=(signed_call,), thinking_blocks=blocks),
        ChatMessage("tool", "sunny", tool_call_id=call.id),
    ]
    options = ChatOptions(tools=[WEATHER], extra={"reasoning_effort": "low"})
    answered = await provider(case, fake, http).chat(ChatRequest(case.model, history, options))

    assert answered.content == "The tool said: sunny"
    body = case.received(fake)
    if case.name == "openai_compat":
        (sent_call,) = body["messages"][1]["tool_calls"]
        assert sent_call["extra_content"] == google  # Gemini's OpenAI-compatible endpoint reads it
        assert "thinking_blocks" not in body["messages"][1]
    elif case.name == "anthropic":
        content = body["messages"][1]["content"]
        assert content[0] == dict(first.thinking_blocks[0]) and content[1]["type"] == "tool_use"
        assert "gsig" not in json.dumps(body)
    else:
        (part,) = body["contents"][1]["parts"]
        assert part["functionCall"]["name"] == call.name and part["thoughtSignature"] == "gsig-from-gemini"
        assert "sig-elsewhere" not in json.dumps(body)


async def test_streamed_reasoning_arrives_as_reasoning_deltas(case: Case, fake: Any, http: HttpTransport) -> None:
    deltas = await collect(provider(case, fake, http), ask(case, "one two", extra={"reasoning_effort": "medium"}))
    assert "".join(d.content or "" for d in deltas) == "echo: one two"
    reasoning = "".join(d.reasoning_content or "" for d in deltas)
    if case.name == "anthropic":
        (block,) = [b for d in deltas for b in d.thinking_blocks]
        assert reasoning == block["thinking"] and block["signature"] in fake.state.issued
    elif case.name == "gemini":
        assert reasoning == "Considering the question."
    else:
        assert case.received(fake)["reasoning_effort"] == "medium"


STREAM_ERROR_CODES = {"openai_compat": "server_error", "anthropic": "overloaded_error", "gemini": "UNAVAILABLE"}


async def test_an_in_band_stream_error_is_a_failure_with_the_vendors_code(
    case: Case, fake: Any, http: HttpTransport
) -> None:
    fake.state.stream_error_after = 2
    received = []
    with pytest.raises(GatewayError) as failed:
        async with provider(case, fake, http).stream(ask(case, "one two three four five")) as deltas:
            async for delta in deltas:
                received.append(delta)
    assert failed.value.vendor_code == STREAM_ERROR_CODES[case.name]
    assert failed.value.may_fall_over
    assert not any(d.finish_reason for d in received)
