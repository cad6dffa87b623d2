"""Anthropic's Messages format: request mapping, response mapping and the event-stream state machine."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ideaforge_gateway.adapters.anthropic.messages_format import StreamAssembler, stream_error
from ideaforge_gateway.adapters.anthropic.wire import (
    WireContentBlock,
    WireUsage,
    content_to_domain,
    error_type,
    finish_reason,
    messages_to_wire,
    request_to_wire,
    tool_choice_to_wire,
)
from ideaforge_gateway.adapters.parameters import UnsupportedParameter
from ideaforge_gateway.adapters.tool_arguments import UnmappableRequestError
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    GatewayError,
    InvalidRequestError,
    ModelNotFoundError,
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
    Usage,
)

P = ProviderName.ANTHROPIC


def test_a_request_without_max_tokens_gets_the_default_and_extras_are_mapped() -> None:
    request = ChatRequest(
        "claude-x",
        [ChatMessage("system", "A."), ChatMessage("user", "hi"), ChatMessage("system", "B.")],
        options=ChatOptions(temperature=1.7, extra={"top_p": 0.9, "user": "u-1"}),
    )

    body = request_to_wire(request, stream=True)

    assert body == {
        "model": "claude-x",
        "max_tokens": 4096,
        "system": "A.\n\nB.",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 1.0,  # clamped into Anthropic's range
        "top_p": 0.9,
        "metadata": {"user_id": "u-1"},
        "stream": True,
    }


def test_a_parameter_anthropic_has_no_equivalent_for_is_refused_by_name_not_dropped() -> None:
    request = ChatRequest("claude-x", [ChatMessage("user", "hi")], options=ChatOptions(extra={"frequency_penalty": 1}))

    with pytest.raises(UnsupportedParameter) as refused:
        request_to_wire(request, stream=False)

    assert refused.value.param == "frequency_penalty"
    assert "'frequency_penalty'" in str(refused.value)


def test_tools_become_input_schemas_and_tool_choice_needs_tools() -> None:
    spec = ToolSpec("lookup", "", {"type": "object", "properties": {"q": {"type": "string"}}})
    with_tools = request_to_wire(
        ChatRequest("m", [ChatMessage("user", "x")], options=ChatOptions(tools=[spec], tool_choice="auto")),
        stream=False,
    )
    without = request_to_wire(
        ChatRequest("m", [ChatMessage("user", "x")], options=ChatOptions(tool_choice="auto")), stream=False
    )

    assert with_tools["tools"] == [{"name": "lookup", "input_schema": dict(spec.parameters)}]
    assert with_tools["tool_choice"] == {"type": "auto"}
    assert "tool_choice" not in without and "tools" not in without


@pytest.mark.parametrize(
    ("choice", "parallel", "wire"),
    [
        (None, None, None),
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", None, {"type": "any"}),
        ({"type": "function", "function": {"name": "f"}}, None, {"type": "tool", "name": "f"}),
        ({"type": "function", "name": "f"}, None, {"type": "tool", "name": "f"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        ("none", False, {"type": "none"}),
    ],
)
def test_tool_choice(choice: Any, parallel: object, wire: dict[str, Any] | None) -> None:
    assert tool_choice_to_wire(choice, parallel=parallel) == wire


@pytest.mark.parametrize("choice", ["sometimes", {"type": "function"}])
def test_a_tool_choice_anthropic_cannot_express_is_refused(choice: Any) -> None:
    with pytest.raises(UnmappableRequestError):
        tool_choice_to_wire(choice)


def test_runs_of_tool_results_become_one_user_message() -> None:
    calls = (ToolCall("t1", "a", '{"x": 1}'), ToolCall("t2", "b", ""))
    system, wire = messages_to_wire(
        [
            ChatMessage("user", "go"),
            ChatMessage("assistant", "On it.", tool_calls=calls),
            ChatMessage("tool", "one", tool_call_id="t1"),
            ChatMessage("tool", "", tool_call_id="t2"),
            ChatMessage("user", "thanks"),
            ChatMessage("assistant", None),
        ]
    )

    assert system is None
    assert wire == [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "On it."},
                {"type": "tool_use", "id": "t1", "name": "a", "input": {"x": 1}},
                {"type": "tool_use", "id": "t2", "name": "b", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "one"},
                {"type": "tool_result", "tool_use_id": "t2"},
            ],
        },
        {"role": "user", "content": "thanks"},
    ]


@pytest.mark.parametrize(
    "message",
    [
        ChatMessage("assistant", None, tool_calls=(ToolCall("t1", "a", "{oops"),)),
        ChatMessage("assistant", None, tool_calls=(ToolCall("t1", "a", "[1, 2]"),)),
        ChatMessage("tool", "orphan"),
    ],
)
def test_messages_anthropic_cannot_express_are_refused(message: ChatMessage) -> None:
    with pytest.raises(UnmappableRequestError):
        messages_to_wire([ChatMessage("user", "hi"), message])


def test_response_content_joins_text_and_keeps_tool_use() -> None:
    blocks = [
        WireContentBlock(type="thinking"),
        WireContentBlock(type="text", text="Hello "),
        WireContentBlock(type="tool_use", id="toolu_1", name="f", input={"a": [1]}),
        WireContentBlock(type="text", text="world"),
    ]
    assert content_to_domain(blocks) == ("Hello world", (ToolCall("toolu_1", "f", '{"a": [1]}'),))
    assert content_to_domain([]) == (None, ())


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "pause_turn"),
        (None, None),
    ],
)
def test_finish_reasons(stop: str | None, finish: str | None) -> None:
    assert finish_reason(stop) == finish


def test_usage_counts_cached_input_as_prompt_tokens() -> None:
    usage = WireUsage(input_tokens=10, output_tokens=5, cache_read_input_tokens=100, cache_creation_input_tokens=None)
    assert usage.to_domain() == Usage(110, 5, 115)


def test_error_type_is_an_identifier_never_free_text() -> None:
    assert error_type(b'{"type": "error", "error": {"type": "overloaded_error", "message": "x"}}') == "overloaded_error"
    assert error_type(b'{"type": "error", "error": {"type": "key sk-ant-123 is bad"}}') is None
    assert error_type(b"<html>") is None


def events(*items: dict[str, Any]) -> list[StreamDelta]:
    assembler = StreamAssembler(P, "requested")
    deltas: list[StreamDelta] = []
    for item in items:
        deltas += assembler.feed(json.dumps(item))
    assert assembler.done == (items[-1]["type"] == "message_stop")
    return deltas


START = {"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 7, "output_tokens": 1}}}
STOP = {"type": "message_stop"}


def test_the_stream_numbers_tool_calls_among_themselves_and_ends_at_message_stop() -> None:
    deltas = events(
        START,
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t", "name": "f"}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"a":'}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": " 1}"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "u", "name": "g"}},
        {"type": "content_block_stop", "index": 2},
        {"type": "some_future_event"},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}},
        STOP,
    )

    assert [d.content for d in deltas if d.content] == ["Hi"]
    calls = [c for d in deltas for c in d.tool_calls]
    assert [(c.index, c.id, c.name, c.arguments) for c in calls] == [
        (0, "t", "f", ""),
        (0, None, None, '{"a":'),
        (0, None, None, " 1}"),
        (1, "u", "g", ""),
        (1, None, None, "{}"),  # a call without arguments still reassembles to JSON
    ]
    assert deltas[-1] == StreamDelta(finish_reason="tool_calls", usage=Usage(7, 30, 37), model="claude-x")


def test_without_message_stop_the_stream_is_not_finished() -> None:
    deltas = events(
        START, {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}
    )
    assert deltas == []


def test_a_stream_that_ends_before_message_stop_is_incomplete() -> None:
    with pytest.raises(ProviderUnavailableError, match="ended before it was complete"):
        StreamAssembler(P, "m").at_end()


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("overloaded_error", ProviderUnavailableError),
        ("api_error", ProviderUnavailableError),
        ("rate_limit_error", RateLimitedError),
        ("authentication_error", AuthenticationError),
        ("not_found_error", ModelNotFoundError),
        ("invalid_request_error", InvalidRequestError),
        ("a brand new error", ProviderUnavailableError),
    ],
)
def test_error_events_map_to_domain_errors(kind: str, error: type[GatewayError]) -> None:
    with pytest.raises(error) as caught:
        events(START, {"type": "error", "error": {"type": kind, "message": "secret-ish text"}})
    assert caught.value.provider is P
    assert "secret-ish" not in str(caught.value) and "brand new" not in str(caught.value)
    assert stream_error(P, None).provider is P


def test_an_unparseable_event_is_malformed() -> None:
    with pytest.raises(ProviderUnavailableError, match="malformed"):
        StreamAssembler(P, "m").feed("{not json")


# Round trip: whatever conversation goes out, an Anthropic reader gets the same conversation back.
_text = st.text(st.characters(codec="utf-8"), min_size=0, max_size=12)
_args = st.dictionaries(st.text(min_size=1, max_size=5), st.one_of(st.integers(), st.text(max_size=5), st.booleans()))


@st.composite
def conversations(draw: st.DrawFn) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    for turn in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["system", "user", "assistant", "tools"]))
        if kind in ("system", "user"):
            messages.append(ChatMessage("system" if kind == "system" else "user", draw(_text)))
        else:
            calls = tuple(
                ToolCall(
                    f"toolu_{turn}_{i}", draw(st.from_regex(r"[a-z_]{1,8}", fullmatch=True)), json.dumps(draw(_args))
                )
                for i in range(draw(st.integers(0 if kind == "assistant" else 1, 3)))
            )
            messages.append(ChatMessage("assistant", draw(st.none() | _text), tool_calls=calls))
            messages += [ChatMessage("tool", draw(_text) or None, tool_call_id=c.id) for c in calls if kind == "tools"]
    return messages


def read_back(system: str | None, wire: list[dict[str, Any]]) -> list[ChatMessage]:
    """How Anthropic reads the wire, written independently of the code under test."""
    out = [ChatMessage("system", system)] if system else []
    for message in wire:
        content = message["content"]
        if message["role"] == "user" and isinstance(content, str):
            out.append(ChatMessage("user", content))
        elif message["role"] == "user":
            out += [ChatMessage("tool", b.get("content"), tool_call_id=b["tool_use_id"]) for b in content]
        else:
            text = "".join(b["text"] for b in content if b["type"] == "text") or None
            calls = tuple(
                ToolCall(b["id"], b["name"], json.dumps(b["input"])) for b in content if b["type"] == "tool_use"
            )
            out.append(ChatMessage("assistant", text, tool_calls=calls))
    return out


@given(conversations())
def test_messages_survive_the_round_trip(messages: list[ChatMessage]) -> None:
    system, wire = messages_to_wire(messages)

    systems = [m.content for m in messages if m.role == "system" and m.content]
    expected = [ChatMessage("system", "\n\n".join(systems))] if systems else []
    # Empty text is left out (Anthropic refuses empty text blocks), so it reads back as None.
    expected += [
        replace(m, content=m.content or None)
        for m in messages
        if m.role == "tool" or (m.role != "system" and (m.content or m.tool_calls))
    ]
    assert read_back(system, wire) == expected
    for before, after in itertools.pairwise(wire):
        both_results = [m["role"] == "user" and isinstance(m["content"], list) for m in (before, after)]
        assert not all(both_results), "consecutive tool results must share one user message"
