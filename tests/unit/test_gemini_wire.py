"""Gemini's `generateContent` format: request mapping, response mapping and the stream of chunks."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ideaforge_gateway.adapters.gemini.generate_content_format import StreamAssembler
from ideaforge_gateway.adapters.gemini.wire import (
    VendorError,
    WirePart,
    WireUsage,
    contents_to_wire,
    finish_reason,
    model_id,
    model_path,
    parts_to_domain,
    request_to_wire,
    schema_to_wire,
    tool_config_to_wire,
    vendor_error,
)
from ideaforge_gateway.adapters.tool_arguments import UnmappableRequestError
from ideaforge_gateway.domain.errors import GatewayError, ProviderUnavailableError, RateLimitedError
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

P = ProviderName.GEMINI


def test_system_goes_to_the_system_instruction_and_settings_to_the_generation_config() -> None:
    request = ChatRequest(
        "gemini-2.5-pro",
        [
            ChatMessage("system", "A."),
            ChatMessage("user", "hi"),
            ChatMessage("assistant", "hello"),
            ChatMessage("system", "B."),
        ],
        options=ChatOptions(
            temperature=1.5,
            stop=["END"],
            extra={"max_completion_tokens": 50, "top_p": 0.9, "seed": 3, "logit_bias": {}},
        ),
    )

    assert request_to_wire(request) == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "hello"}]}],
        "systemInstruction": {"parts": [{"text": "A.\n\nB."}]},
        "generationConfig": {
            "temperature": 1.5,
            "maxOutputTokens": 50,
            "stopSequences": ["END"],
            "topP": 0.9,
            "seed": 3,
        },
    }


def test_tools_become_function_declarations() -> None:
    spec = ToolSpec("lookup", "Find things", {"type": "object", "properties": {"q": {"type": "string"}}})
    body = request_to_wire(
        ChatRequest(
            "m", [ChatMessage("user", "x")], options=ChatOptions(tools=[spec, ToolSpec("now")], tool_choice="none")
        )
    )

    assert body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "lookup", "description": "Find things", "parameters": dict(spec.parameters)},
                {"name": "now"},  # Gemini refuses an OBJECT schema without properties
            ]
        }
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "NONE"}}


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        (None, None),
        ("auto", {"functionCallingConfig": {"mode": "AUTO"}}),
        ("required", {"functionCallingConfig": {"mode": "ANY"}}),
        (
            {"type": "function", "function": {"name": "f"}},
            {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}},
        ),
    ],
)
def test_tool_choice(choice: Any, config: dict[str, Any] | None) -> None:
    assert tool_config_to_wire(choice) == config


def test_an_unknown_tool_choice_is_refused() -> None:
    with pytest.raises(UnmappableRequestError):
        tool_config_to_wire("sometimes")


def test_schemas_are_cut_down_to_what_gemini_accepts() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "type": {"type": ["string", "null"], "description": "a property named like a keyword"},
            "tags": {"type": "array", "items": {"type": "string", "additionalProperties": False}},
            "either": {"anyOf": [{"type": "integer", "$id": "x"}, {"type": "string"}]},
        },
        "required": ["type"],
    }

    assert schema_to_wire(schema) == {
        "type": "object",
        "properties": {
            "type": {"type": "string", "nullable": True, "description": "a property named like a keyword"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "either": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        },
        "required": ["type"],
    }


def test_tool_results_are_named_after_the_latest_call_with_their_id() -> None:
    # Gemini ids calls only sometimes, so `call_0` recurs from one answer to the next.
    first, second = ToolCall("call_0", "weather", '{"city": "Paris"}'), ToolCall("call_0", "time", "")
    system, contents = contents_to_wire(
        [
            ChatMessage("user", "go"),
            ChatMessage("assistant", None, tool_calls=(first,)),
            ChatMessage("tool", "sunny", tool_call_id="call_0"),
            ChatMessage("assistant", "And the time:", tool_calls=(second, ToolCall("call_1", "date", "{}"))),
            ChatMessage("tool", "noon", tool_call_id="call_0"),
            ChatMessage("tool", None, tool_call_id="call_1"),
            ChatMessage("tool", "named", tool_call_id="unknown", name="explicit"),
        ]
    )

    assert system is None
    assert contents[1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {"city": "Paris"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"content": "sunny"}}}]},
        {
            "role": "model",
            "parts": [
                {"text": "And the time:"},
                {"functionCall": {"name": "time", "args": {}}},
                {"functionCall": {"name": "date", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "time", "response": {"content": "noon"}}},
                {"functionResponse": {"name": "date", "response": {"content": ""}}},
                {"functionResponse": {"name": "explicit", "response": {"content": "named"}}},
            ],
        },
    ]


@pytest.mark.parametrize(
    "message",
    [
        ChatMessage("tool", "orphan", tool_call_id="nobody"),
        ChatMessage("assistant", None, tool_calls=(ToolCall("c", "f", "{oops"),)),
        ChatMessage("assistant", None, tool_calls=(ToolCall("c", "f", '"text"'),)),
    ],
)
def test_messages_gemini_cannot_express_are_refused(message: ChatMessage) -> None:
    with pytest.raises(UnmappableRequestError):
        contents_to_wire([ChatMessage("user", "hi"), message])


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("gemini-2.5-pro", "models/gemini-2.5-pro"),
        ("models/gemini-2.0-flash-001", "models/gemini-2.0-flash-001"),
        ("tunedModels/my-tuned-1", "tunedModels/my-tuned-1"),
        ("../v1/files", None),
        ("gemini-2.5-pro:generateContent?key=x", None),
        ("a/b", None),
        ("", None),
    ],
)
def test_model_paths_cannot_escape_their_segment(model: str, path: str | None) -> None:
    assert model_path(model) == path


def test_model_ids_drop_the_models_prefix() -> None:
    assert model_id("models/gemini-2.5-pro") == "gemini-2.5-pro"


@pytest.mark.parametrize(
    ("reason", "called", "finish"),
    [
        ("STOP", False, "stop"),
        ("STOP", True, "tool_calls"),
        ("MAX_TOKENS", False, "length"),
        ("SAFETY", False, "content_filter"),
        ("RECITATION", False, "content_filter"),
        ("MALFORMED_FUNCTION_CALL", False, "malformed_function_call"),
        ("FINISH_REASON_UNSPECIFIED", False, None),
        (None, False, None),
    ],
)
def test_finish_reasons(reason: str | None, called: bool, finish: str | None) -> None:
    assert finish_reason(reason, called_tools=called) == finish


def test_thinking_tokens_count_as_completion_tokens() -> None:
    assert WireUsage(prompt_token_count=9, candidates_token_count=6, thoughts_token_count=2).to_domain() == Usage(
        9, 8, 17
    )


def test_parts_skip_thoughts_and_id_calls() -> None:
    parts = [
        WirePart.model_validate({"text": "hmm", "thought": True}),
        WirePart.model_validate({"text": "Sure."}),
        WirePart.model_validate({"functionCall": {"name": "f", "args": {"a": 1}}}),
        WirePart.model_validate({"functionCall": {"name": "g", "id": "gem-7"}}),
    ]
    content, (minted, given) = parts_to_domain(parts)
    assert content == "Sure."
    assert given == ToolCall("gem-7", "g", "{}")
    assert (minted.name, minted.arguments) == ("f", '{"a": 1}')
    assert re.fullmatch(r"call_[0-9a-f]{24}", minted.id)
    assert parts_to_domain(parts)[1][0].id != minted.id  # minted afresh: unique across turns


def test_error_bodies_are_reduced_to_identifiers() -> None:
    bad_key = {
        "error": {
            "code": 400,
            "message": "API key not valid. AIza-secret",
            "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
        }
    }
    limited = {
        "error": {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12.5s"}],
        }
    }
    assert vendor_error(json.dumps(bad_key).encode()) == VendorError("INVALID_ARGUMENT", "API_KEY_INVALID")
    assert vendor_error(json.dumps(limited).encode()) == VendorError("RESOURCE_EXHAUSTED", None, 12.5)
    assert vendor_error(b'{"error": {"status": "not an identifier!"}}') == VendorError()
    assert vendor_error(b"<html>") == VendorError()


def chunk(parts: list[dict[str, Any]], finish: str | None = None, **extra: Any) -> str:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
    if finish:
        candidate["finishReason"] = finish
    return json.dumps({"candidates": [candidate], "modelVersion": "gemini-x", **extra})


def test_the_stream_numbers_calls_across_chunks_and_finishes_at_a_finish_reason() -> None:
    assembler = StreamAssembler(P, "requested")
    feeds = [
        chunk([{"text": "Let me "}]),
        chunk([{"text": "see."}, {"functionCall": {"name": "f", "args": {"a": 1}}}]),
        chunk(
            [{"functionCall": {"name": "g"}}], "STOP", usageMetadata={"promptTokenCount": 4, "candidatesTokenCount": 3}
        ),
    ]
    deltas: list[StreamDelta] = []
    for data in feeds:
        assert not assembler.finished
        fed = assembler.feed(data)
        assert len(fed) == 1
        deltas += fed

    assert assembler.finished
    assert "".join(d.content or "" for d in deltas) == "Let me see."
    calls = [c for d in deltas for c in d.tool_calls]
    assert [(c.index, c.name, c.arguments) for c in calls] == [(0, "f", '{"a": 1}'), (1, "g", "{}")]
    assert len({c.id for c in calls}) == 2 and all(c.id and c.id.startswith("call_") for c in calls)
    assert not assembler.done  # Gemini has no end marker: the body's clean end completes it
    assert assembler.at_end() == [StreamDelta(finish_reason="tool_calls", usage=Usage(4, 3, 7), model="gemini-x")]


def test_a_blocked_prompt_finishes_the_stream_as_filtered() -> None:
    assembler = StreamAssembler(P, "m")
    assert assembler.feed(json.dumps({"promptFeedback": {"blockReason": "SAFETY"}})) == []
    assert assembler.finished and assembler.at_end()[0].finish_reason == "content_filter"


def test_a_stream_that_ends_without_a_finish_reason_is_incomplete() -> None:
    assembler = StreamAssembler(P, "m")
    assembler.feed(chunk([{"text": "half"}]))
    with pytest.raises(ProviderUnavailableError, match="ended before it was complete"):
        assembler.at_end()


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("UNAVAILABLE", ProviderUnavailableError),
        ("RESOURCE_EXHAUSTED", RateLimitedError),
        (None, ProviderUnavailableError),
    ],
)
def test_an_error_chunk_raises_its_domain_error(status: str | None, error: type[GatewayError]) -> None:
    with pytest.raises(error, match=status or "stream failed mid-way") as raised:
        StreamAssembler(P, "m").feed(json.dumps({"error": {"code": 503, "status": status}}))
    assert raised.value.provider is P


def test_an_unparseable_chunk_is_malformed() -> None:
    with pytest.raises(ProviderUnavailableError, match="malformed"):
        StreamAssembler(P, "m").feed("{not json")


# Round trip: whatever conversation goes out, a Gemini reader gets the same conversation back.
_text = st.text(st.characters(codec="utf-8"), min_size=0, max_size=12)
_args = st.dictionaries(st.text(min_size=1, max_size=5), st.one_of(st.integers(), st.text(max_size=5), st.booleans()))
_names = st.from_regex(r"[a-z_]{1,8}", fullmatch=True)


@st.composite
def conversations(draw: st.DrawFn) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["system", "user", "assistant", "tools"]))
        if kind in ("system", "user"):
            messages.append(ChatMessage("system" if kind == "system" else "user", draw(_text)))
            continue
        # Ids repeat from one answer to the next, as Gemini's generated `call_<n>` ids do.
        calls = tuple(
            ToolCall(f"call_{i}", draw(_names), json.dumps(draw(_args)))
            for i in range(draw(st.integers(0 if kind == "assistant" else 1, 3)))
        )
        messages.append(ChatMessage("assistant", draw(st.none() | _text), tool_calls=calls))
        if kind == "tools":
            messages += [ChatMessage("tool", draw(_text), tool_call_id=c.id) for c in calls]
    return messages


Turn = tuple[str, str | None, list[tuple[str, str]]]


def read_back(system: str | None, contents: list[dict[str, Any]]) -> list[Turn]:
    """(role, text, [(function name, arguments or result)]) per message, as Gemini reads the wire."""
    turns: list[Turn] = [("system", system, [])] if system else []
    for content in contents:
        parts = content["parts"]
        responses = [
            (p["functionResponse"]["name"], p["functionResponse"]["response"]["content"])
            for p in parts
            if "functionResponse" in p
        ]
        if responses:
            turns += [("tool", None, [response]) for response in responses]
            continue
        text = "".join(p["text"] for p in parts if "text" in p) or None
        calls = [
            (p["functionCall"]["name"], json.dumps(p["functionCall"]["args"])) for p in parts if "functionCall" in p
        ]
        turns.append(("assistant" if content["role"] == "model" else "user", text, calls))
    return turns


def expected_turns(messages: list[ChatMessage]) -> list[Turn]:
    systems = [m.content for m in messages if m.role == "system" and m.content]
    turns: list[Turn] = [("system", "\n\n".join(systems), [])] if systems else []
    names: dict[str, str] = {}
    for m in messages:
        if m.role == "tool":
            turns.append(("tool", None, [(names[m.tool_call_id or ""], m.content or "")]))
        elif m.role != "system" and (m.content or m.tool_calls):
            names |= {c.id: c.name for c in m.tool_calls}
            turns.append((m.role, m.content or None, [(c.name, c.arguments) for c in m.tool_calls]))
    return turns


@given(conversations())
def test_messages_survive_the_round_trip(messages: list[ChatMessage]) -> None:
    system, contents = contents_to_wire(messages)

    assert read_back(system, contents) == expected_turns(messages)
    assert all(c["role"] in ("user", "model") and c["parts"] for c in contents)
    for before, after in itertools.pairwise(contents):
        both = ["functionResponse" in c["parts"][0] for c in (before, after)]
        assert not all(both), "consecutive tool results must share one turn"
