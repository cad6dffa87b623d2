"""OpenAI's `response_format` on Anthropic's Messages API, both ways.

Two documented mechanisms (NOTES-vendors §3):
- native: `output_config.format = {"type": "json_schema", "schema": ...}` (GA, no beta header;
  cd:build-with-claude/structured-outputs) on the models that have it, Claude Sonnet/Opus/Haiku
  4.5 and later. The JSON is the answer's text. Used for `json_schema` when the schema fits
  Anthropic's subset (`schema_dialect`).
- forced tool (cd:agents-and-tools/tool-use/define-tools): one tool whose `input_schema` is the
  wanted schema, and `tool_choice: {"type": "tool", "name": ...}`; the tool's input is the
  answer. Used for `json_object` (Anthropic has no JSON mode: the schema is `{"type":
  "object"}`, any object) and for a non-`strict` `json_schema` that the native mechanism cannot
  take (older models, a recursive schema, a map). Its input comes back as the answer's
  `content`, with finish reason `stop`, as OpenAI would give it.
A `strict` schema is sent only where Anthropic enforces it (native); elsewhere it is refused
with a 400 naming `response_format`, never loosened in silence. The forced tool is the only tool
of the request, so a request that brings its own tools (or a `tool_choice`) with a
`response_format` it needs is refused the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from ideaforge_gateway.adapters.anthropic.schema_dialect import output_schema
from ideaforge_gateway.adapters.anthropic.thinking import model_version
from ideaforge_gateway.adapters.structured_output import (
    ResponseFormat,
    UnsupportedSchema,
    local_ref,
    response_format,
)
from ideaforge_gateway.adapters.wire_format import StreamAssembler
from ideaforge_gateway.domain.models import ChatRequest, ChatResponse, StreamDelta, ToolSpec

JSON_TOOL = "json_output"
"""The forced tool's name when the caller's schema name does not fit Anthropic's tool names."""
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_NATIVE_SINCE = (4, 5)


@dataclass(frozen=True, slots=True)
class Plan:
    """How a request's `response_format` is asked of Anthropic."""

    how: Literal["native", "tool"]
    schema: Mapping[str, Any]
    tool: str = JSON_TOOL
    description: str | None = None


def plan(request: ChatRequest) -> Plan | None:
    """The mechanism for `request`'s `response_format`, or None when it has none.

    Raises `UnsupportedSchema` (a 400 naming `response_format`) when neither can honour it.
    """
    fmt = response_format(request.options.extra)
    if fmt is None:
        return None
    if fmt.kind == "json_schema" and has_native_outputs(request.model):
        try:
            return Plan("native", output_schema(fmt.schema))
        except UnsupportedSchema:
            if fmt.strict:
                raise
    elif fmt.strict:
        raise UnsupportedSchema(f"strict schemas need Anthropic's structured outputs, which {request.model!r} lacks")
    if request.options.tools or request.options.tool_choice is not None:
        raise UnsupportedSchema("without Anthropic's structured outputs it cannot be combined with tools")
    return _tool_plan(fmt)


def has_native_outputs(model: str) -> bool:
    """Whether `model` has structured outputs: Claude 4.5 and later (`claude-sonnet-4-5-...`,
    `claude-opus-4-6`, `claude-haiku-4-5`); not Claude 3.x, 4.0 or 4.1. An id without a version
    (a gateway's alias) is taken to be a current model."""
    version = model_version(model.rsplit("/", 1)[-1])
    return version is None or version >= _NATIVE_SINCE


def strict_tool(tool: ToolSpec, model: str) -> dict[str, Any]:
    """The fields of a `strict` tool's Anthropic definition: `strict: true` and its input schema
    in the structured-outputs dialect (strict tool use shares the feature and its limits,
    cd:build-with-claude/structured-outputs); nothing for other tools. Raises `UnsupportedSchema`
    naming `tools` on a model without the feature, or for a schema outside the subset."""
    if not tool.strict:
        return {}
    if not has_native_outputs(model):
        raise UnsupportedSchema(
            f"strict tools need Anthropic's structured outputs, which {model!r} lacks", param="tools"
        )
    return {"strict": True, "input_schema": output_schema(tool.parameters, param="tools")}


def apply(body: dict[str, Any], request: ChatRequest) -> None:
    """Put `request`'s `response_format` into the `/v1/messages` `body`, whose thinking controls
    are already set (`output_config` is merged into, not replaced)."""
    chosen = plan(request)
    if chosen is None:
        return
    if chosen.how == "native":
        body["output_config"] = body.get("output_config", {}) | {
            "format": {"type": "json_schema", "schema": chosen.schema}
        }
        return
    if (body.get("thinking") or {}).get("type") == "enabled":
        # Manual thinking (`reasoning_effort` on Claude 3.7 to 4.6) cannot force a tool
        # (cd:agents-and-tools/tool-use/define-tools), and Anthropic would refuse the request.
        raise UnsupportedSchema(f"it needs a forced tool, which {request.model!r} cannot use while thinking")
    tool: dict[str, Any] = {"name": chosen.tool, "input_schema": dict(chosen.schema)}
    tool["description"] = chosen.description or "Answer with this tool's input: it is the whole answer."
    body["tools"] = [tool]
    body["tool_choice"] = {"type": "tool", "name": chosen.tool}


def answer(response: ChatResponse, request: ChatRequest) -> ChatResponse:
    """A forced tool's input as the answer's JSON text; other answers unchanged."""
    chosen = plan(request)
    if chosen is None or chosen.how != "tool":
        return response
    calls = [c for c in response.tool_calls if c.name == chosen.tool]
    if not calls:
        return response
    finish = "stop" if response.finish_reason == "tool_calls" else response.finish_reason
    return replace(response, content=calls[0].arguments, tool_calls=(), finish_reason=finish)


class ToolAnswerStream:
    """Wraps a stream assembler whose request forced the JSON tool: the tool's argument
    fragments become content deltas and `tool_calls` becomes `stop`, as `answer` does whole."""

    def __init__(self, inner: StreamAssembler) -> None:
        self._inner = inner

    @property
    def done(self) -> bool:
        return self._inner.done

    def feed(self, data: str) -> list[StreamDelta]:
        return [self._as_content(d) for d in self._inner.feed(data)]

    def at_end(self) -> list[StreamDelta]:
        return [self._as_content(d) for d in self._inner.at_end()]

    @staticmethod
    def _as_content(delta: StreamDelta) -> StreamDelta:
        text = "".join(c.arguments for c in delta.tool_calls)
        finish = "stop" if delta.finish_reason == "tool_calls" else delta.finish_reason
        return replace(delta, content=(delta.content or "") + text or None, tool_calls=(), finish_reason=finish)


def wrap_stream(inner: StreamAssembler, request: ChatRequest) -> StreamAssembler:
    """`inner`, or `ToolAnswerStream(inner)` when `request` forces the JSON tool."""
    chosen = plan(request)
    return ToolAnswerStream(inner) if chosen is not None and chosen.how == "tool" else inner


def _tool_plan(fmt: ResponseFormat) -> Plan:
    if fmt.kind == "json_object":
        return Plan("tool", {"type": "object"})
    name = fmt.name if _TOOL_NAME.match(fmt.name) else JSON_TOOL
    schema = dict(fmt.schema) or {"type": "object"}
    if "$ref" in schema and "type" not in schema:
        # Pydantic's recursive models put a `$ref` at the root; a tool's input schema is an object.
        target = local_ref(schema, schema["$ref"])
        schema = {k: v for k, v in schema.items() if k != "$ref"} | dict(target)
    if schema.get("type") != "object":
        raise UnsupportedSchema("without Anthropic's structured outputs the answer must be a JSON object")
    return Plan("tool", schema, tool=name, description=fmt.description)
