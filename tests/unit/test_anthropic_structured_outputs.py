"""`response_format` on Anthropic: which documented mechanism each request gets, and how the
answer comes back in OpenAI's terms. Pure: requests, bodies and events in, domain values out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from ideaforge_gateway.adapters.anthropic import structured_outputs
from ideaforge_gateway.adapters.anthropic.messages_format import AnthropicMessagesFormat
from ideaforge_gateway.adapters.anthropic.wire import request_to_wire
from ideaforge_gateway.adapters.structured_output import UnsupportedSchema, response_format
from ideaforge_gateway.domain.models import ChatMessage, ChatOptions, ChatRequest, ToolSpec

SONNET_45, HAIKU_35 = "claude-sonnet-4-5-20250929", "claude-3-5-haiku-20241022"


class City(BaseModel):
    name: str
    population: int | None = None


class Node(BaseModel):
    value: int
    next: Node | None = None


def schema_format(model: type[BaseModel], *, strict: bool) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": model.model_json_schema(), "strict": strict},
    }


def ask(model: str, answer_format: object, **options: Any) -> ChatRequest:
    return ChatRequest(
        model, [ChatMessage("user", "a city")], ChatOptions(extra={"response_format": answer_format}, **options)
    )


@pytest.mark.parametrize(
    ("model", "native"),
    [
        (SONNET_45, True),
        ("claude-opus-4-5", True),
        ("claude-haiku-4-5-20251001", True),
        ("claude-opus-4-6", True),
        ("anthropic/claude-sonnet-5", True),
        ("claude-latest", True),
        (HAIKU_35, False),
        ("claude-3-7-sonnet-20250219", False),
        ("claude-opus-4-1-20250805", False),
        ("claude-sonnet-4-20250514", False),
    ],
)
def test_which_models_have_structured_outputs(model: str, native: bool) -> None:
    assert structured_outputs.has_native_outputs(model) is native


def test_a_schema_goes_as_output_config_on_models_that_have_it() -> None:
    body = request_to_wire(ask(SONNET_45, schema_format(City, strict=True)), stream=False)

    schema = body["output_config"]["format"]["schema"]
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert schema["additionalProperties"] is False and set(schema["properties"]) == {"name", "population"}
    assert "tools" not in body and "tool_choice" not in body


def test_json_mode_and_loose_schemas_elsewhere_go_as_a_forced_tool() -> None:
    json_mode = request_to_wire(ask(SONNET_45, {"type": "json_object"}), stream=False)
    assert json_mode["tools"][0]["input_schema"] == {"type": "object"}
    assert json_mode["tool_choice"] == {"type": "tool", "name": "json_output"}

    loose = request_to_wire(ask(HAIKU_35, schema_format(City, strict=False)), stream=False)
    assert loose["tools"][0]["name"] == "City" and loose["tool_choice"] == {"type": "tool", "name": "City"}
    assert loose["tools"][0]["input_schema"] == City.model_json_schema()
    assert "output_config" not in loose

    # A recursive schema has no native form; loose, it still goes as the tool's input schema.
    recursive = request_to_wire(ask(SONNET_45, schema_format(Node, strict=False)), stream=False)
    tool_schema = recursive["tools"][0]["input_schema"]
    assert tool_schema["type"] == "object" and tool_schema["$defs"] == Node.model_json_schema()["$defs"]


@pytest.mark.parametrize(
    ("model", "answer_format", "options", "why"),
    [
        (HAIKU_35, schema_format(City, strict=True), {}, "strict schemas need"),
        (SONNET_45, schema_format(Node, strict=True), {}, "recursive"),
        (SONNET_45, {"type": "json_object"}, {"tools": [ToolSpec("lookup")]}, "combined with tools"),
        (SONNET_45, {"type": "json_schema"}, {}, "json_schema object"),
        (SONNET_45, {"type": "yaml"}, {}, "expected type"),
        (HAIKU_35, {"type": "json_schema", "json_schema": {"name": "l", "schema": {"type": "array"}}}, {}, "object"),
    ],
)
def test_what_neither_mechanism_can_honour_is_refused_by_name(
    model: str, answer_format: object, options: dict[str, Any], why: str
) -> None:
    with pytest.raises(UnsupportedSchema) as refused:
        request_to_wire(ask(model, answer_format, **options), stream=False)
    assert refused.value.param == "response_format" and why in str(refused.value)


def test_a_native_answer_is_the_text_and_a_forced_tool_answer_its_input() -> None:
    wire = AnthropicMessagesFormat()
    text = {"type": "text", "text": '{"name": "Oslo", "population": null}'}
    native = wire.chat_response(_message([text], "end_turn"), ask(SONNET_45, schema_format(City, strict=True)))
    assert (native.content, native.finish_reason, native.tool_calls) == (text["text"], "stop", ())

    forced = ask(SONNET_45, {"type": "json_object"})
    tool_use = {"type": "tool_use", "id": "toolu_1", "name": "json_output", "input": {"name": "Oslo"}}
    answer = wire.chat_response(_message([tool_use], "tool_use"), forced)
    assert (json.loads(answer.content or ""), answer.finish_reason, answer.tool_calls) == ({"name": "Oslo"}, "stop", ())

    cut = wire.chat_response(_message([tool_use], "max_tokens"), forced)
    assert cut.finish_reason == "length"


def test_a_forced_tool_answer_streams_as_content() -> None:
    assembler = AnthropicMessagesFormat().stream_assembler(ask(SONNET_45, {"type": "json_object"}))
    tool = {"type": "tool_use", "id": "t", "name": "json_output", "input": {}}
    events = [
        {"type": "message_start", "message": {"id": "m", "model": SONNET_45, "usage": {"input_tokens": 3}}},
        {"type": "content_block_start", "index": 0, "content_block": tool},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"name": '}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '"Oslo"}'}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}},
        {"type": "message_stop"},
    ]  # fmt: skip

    deltas = [d for event in events for d in assembler.feed(json.dumps(event))]

    assert "".join(d.content or "" for d in deltas) == '{"name": "Oslo"}'
    assert not any(d.tool_calls for d in deltas)
    assert [d.finish_reason for d in deltas if d.finish_reason] == ["stop"] and assembler.done


def test_no_response_format_is_none() -> None:
    assert response_format({}) is None and response_format({"response_format": {"type": "text"}}) is None
    assert structured_outputs.plan(ChatRequest(SONNET_45, [ChatMessage("user", "x")])) is None


def _message(content: list[dict[str, Any]], stop: str) -> bytes:
    body = {"id": "msg_1", "model": SONNET_45, "content": content, "stop_reason": stop, "usage": {"input_tokens": 1}}
    return json.dumps(body).encode()


def test_thinking_goes_with_structured_outputs_but_manual_thinking_cannot_force_the_tool() -> None:
    with_effort = {"reasoning_effort": "low"}
    native = ask(SONNET_45, schema_format(City, strict=True))
    native = ChatRequest(native.model, native.messages, ChatOptions(extra=native.options.extra | with_effort))
    body = request_to_wire(native, stream=False)
    assert body["thinking"]["type"] == "enabled" and body["output_config"]["format"]["type"] == "json_schema"

    adaptive = ChatRequest("claude-opus-4-7", native.messages, native.options)
    body = request_to_wire(adaptive, stream=False)
    assert body["output_config"]["effort"] == "low" and body["output_config"]["format"]["type"] == "json_schema"

    json_mode = ChatRequest(
        SONNET_45, native.messages, ChatOptions(extra={"response_format": {"type": "json_object"}} | with_effort)
    )
    with pytest.raises(UnsupportedSchema) as refused:
        request_to_wire(json_mode, stream=False)
    assert refused.value.param == "response_format" and "thinking" in str(refused.value)
