"""Pydantic models of Gemini's `generateContent` wire format, and the mapping to and from the domain.

Pure functions, no I/O: every quirk of the format is unit tested here.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from ideaforge_gateway.adapters.content_parts import outside_user_message
from ideaforge_gateway.adapters.gemini.content import user_parts
from ideaforge_gateway.adapters.gemini.schema_dialect import (
    generation_config,
    json_schema,
    needs_json_schema,
    refuse_strict_tools,
)
from ideaforge_gateway.adapters.gemini.thinking import model_parts, signed, thinking_config
from ideaforge_gateway.adapters.http.errors import vendor_code
from ideaforge_gateway.adapters.parameters import refuse_untranslated
from ideaforge_gateway.adapters.structured_output import response_format
from ideaforge_gateway.adapters.tool_arguments import UnmappableRequestError
from ideaforge_gateway.adapters.tool_ids import mint_tool_call_id
from ideaforge_gateway.domain.models import ChatMessage, ChatRequest, ToolCall, Usage

_MODEL_ID = re.compile(r"^(?:models/|tunedModels/)?[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
_FILTERED = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE"})
_TOOL_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
# The subset of OpenAPI 3.0 that Gemini's `Schema` knows; anything else (`additionalProperties`,
# `$schema`, ...) makes it refuse the whole request, so it is dropped.
_SCHEMA_KEYS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "enum", "items", "minItems", "maxItems",
        "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern",
        "minimum", "maximum", "anyOf", "propertyOrdering", "default", "example",
    }
)  # fmt: skip
_GENERATION_EXTRAS = {
    "top_p": "topP",
    "top_k": "topK",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
    "n": "candidateCount",  # each candidate comes back as a choice (NOTES-vendors: model-dependent)
}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)


class WireFunctionCall(_Wire):
    name: str
    args: dict[str, Any] | None = None
    id: str | None = None


class WirePart(_Wire):
    text: str | None = None
    thought: bool = False
    function_call: WireFunctionCall | None = None
    thought_signature: str | None = None


class WireContent(_Wire):
    parts: list[WirePart] = []


class WireCandidate(_Wire):
    content: WireContent | None = None
    finish_reason: str | None = None
    index: int | None = None


class WireUsage(_Wire):
    prompt_token_count: int = 0
    candidates_token_count: int = 0
    thoughts_token_count: int = 0
    total_token_count: int | None = None

    def to_domain(self) -> Usage:
        # Thinking tokens are billed as output and OpenAI counts its reasoning tokens among the
        # completion tokens, so they are counted there too.
        completion = self.candidates_token_count + self.thoughts_token_count
        total = self.total_token_count if self.total_token_count is not None else self.prompt_token_count + completion
        return Usage(self.prompt_token_count, completion, total)


class WirePromptFeedback(_Wire):
    block_reason: str | None = None


class WireErrorDetail(_Wire):
    type: str | None = Field(default=None, alias="@type")
    reason: str | None = None
    retry_delay: str | None = None


class WireErrorBody(_Wire):
    code: int | None = None
    status: str | None = None
    details: list[WireErrorDetail] = []


class WireResponse(_Wire):
    """One `GenerateContentResponse`: the whole answer, or one chunk of a stream."""

    candidates: list[WireCandidate] = []
    usage_metadata: WireUsage | None = None
    prompt_feedback: WirePromptFeedback | None = None
    model_version: str | None = None
    response_id: str | None = None
    error: WireErrorBody | None = None


class WireModel(_Wire):
    name: str
    supported_generation_methods: list[str] | None = None


class WireModelList(_Wire):
    models: list[WireModel] = []
    next_page_token: str | None = None


class WireError(_Wire):
    error: WireErrorBody


@dataclass(frozen=True, slots=True)
class VendorError:
    """What a Gemini error body says, reduced to identifiers: never its free-text message."""

    status: str | None = None
    reason: str | None = None
    retry_delay: float | None = None


def vendor_error(body: bytes) -> VendorError:
    try:
        error = WireError.model_validate_json(body).error
    except ValidationError:
        return VendorError()
    return error_to_vendor(error)


def error_to_vendor(error: WireErrorBody) -> VendorError:
    reasons = [code for d in error.details if (code := vendor_code(d.reason)) is not None]
    delays = [_seconds(d.retry_delay) for d in error.details if d.retry_delay]
    return VendorError(
        status=vendor_code(error.status),
        reason=reasons[0] if reasons else None,
        retry_delay=next((d for d in delays if d is not None), None),
    )


def _seconds(duration: str) -> float | None:
    """A protobuf `Duration` in JSON ("37s", "0.5s") as seconds."""
    try:
        return max(0.0, float(duration.removesuffix("s")))
    except ValueError:
        return None


def model_path(model: str) -> str | None:
    """`models/<id>` for a plain or prefixed id, or None when it could escape its URL segment."""
    if not _MODEL_ID.match(model):
        return None
    return model if "/" in model else f"models/{model}"


def model_id(name: str) -> str:
    """`models/gemini-2.5-pro` -> `gemini-2.5-pro`, the id requests use."""
    return name.removeprefix("models/")


def finish_reason(reason: str | None, *, called_tools: bool) -> str | None:
    """Gemini's `finishReason` in OpenAI's words; an unknown one is passed on in lower case."""
    if reason is None or reason == "FINISH_REASON_UNSPECIFIED":
        return None
    if reason == "STOP":
        return "tool_calls" if called_tools else "stop"
    if reason == "MAX_TOKENS":
        return "length"
    return "content_filter" if reason in _FILTERED else reason.lower()


# Requests.
TRANSLATED = frozenset({"max_completion_tokens", "reasoning_effort", "response_format", *_GENERATION_EXTRAS})
"""OpenAI parameters (besides the typed ones) this format translates; others are refused by name."""


def request_to_wire(request: ChatRequest) -> dict[str, Any]:
    """The `generateContent` body (the model and streaming are in the URL, not here).

    Raises `UnmappableRequestError` for what Gemini cannot express.
    """
    options = request.options
    refuse_untranslated(options.extra, TRANSLATED)
    system, contents = contents_to_wire(request.messages, model=request.model)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    if options.tools:
        refuse_strict_tools(options.tools)
        body["tools"] = [
            {"functionDeclarations": [_declaration(t.name, t.description, t.parameters) for t in options.tools]}
        ]
        config = tool_config_to_wire(options.tool_choice)
        if config is not None:
            body["toolConfig"] = config
    generation: dict[str, Any] = {}
    if options.temperature is not None:
        generation["temperature"] = options.temperature
    max_tokens = options.max_tokens or options.extra.get("max_completion_tokens")
    if max_tokens:
        generation["maxOutputTokens"] = max_tokens
    if options.stop:
        generation["stopSequences"] = list(options.stop)
    for key, wire_key in _GENERATION_EXTRAS.items():
        if options.extra.get(key) is not None:
            generation[wire_key] = options.extra[key]
    generation |= generation_config(response_format(options.extra), model=request.model, has_tools=bool(options.tools))
    if (thinking := thinking_config(request.model, options.extra)) is not None:
        generation["thinkingConfig"] = thinking
    if generation:
        body["generationConfig"] = generation
    return body


def tool_config_to_wire(choice: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """OpenAI's `tool_choice` as Gemini's `functionCallingConfig`; a named function is mode ANY
    restricted to that one name."""
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice not in _TOOL_MODES:
            raise UnmappableRequestError(f"tool_choice {choice!r} is not one of auto, none, required")
        return {"functionCallingConfig": {"mode": _TOOL_MODES[choice]}}
    function = choice.get("function")
    name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
    if not isinstance(name, str):
        raise UnmappableRequestError("tool_choice names no function")
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}


def _declaration(name: str, description: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": name}
    if description:
        declaration["description"] = description
    # Gemini refuses an OBJECT schema without properties; a function without parameters says so
    # by having no `parameters` at all.
    if needs_json_schema(parameters):
        # References, maps, unions of consts...: only the JSON Schema field keeps their shape.
        declaration["parametersJsonSchema"] = json_schema(parameters, param="tools")
    elif parameters.get("properties") or parameters.get("type") not in (None, "object"):
        declaration["parameters"] = schema_to_wire(parameters)
    return declaration


def schema_to_wire(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON Schema cut down to what Gemini's `Schema` accepts (see `_SCHEMA_KEYS`)."""
    wire: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _SCHEMA_KEYS:
            continue
        if key == "type" and isinstance(value, list):
            # JSON Schema's ["string", "null"] is Gemini's type "string" with nullable.
            types = [t for t in value if t != "null"]
            wire["type"] = types[0] if types else "null"
            if "null" in value:
                wire["nullable"] = True
        elif key == "properties" and isinstance(value, Mapping):
            wire[key] = {name: schema_to_wire(sub) for name, sub in value.items() if isinstance(sub, Mapping)}
        elif key == "items" and isinstance(value, Mapping):
            wire[key] = schema_to_wire(value)
        elif key == "anyOf" and isinstance(value, list):
            wire[key] = [schema_to_wire(sub) for sub in value if isinstance(sub, Mapping)]
        else:
            wire[key] = value
    return wire


def contents_to_wire(messages: Sequence[ChatMessage], *, model: str = "") -> tuple[str | None, list[dict[str, Any]]]:
    """The `systemInstruction` text and the `contents` list.

    System messages join the system instruction. A run of `tool` messages becomes one `user`
    turn of `functionResponse` parts, named after the call they answer and in the order of the
    calls (Gemini matches results to calls by name and order; ids are not sent, since most are
    the gateway's or another vendor's; the domain names the call by id, so the name is found in
    the latest assistant message that made a call with that id). Messages with nothing to say
    are left out: Gemini refuses empty parts.
    """
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    """Tool call id -> function name, from the latest assistant messages."""
    order: dict[str, int] = {}
    """Tool call id -> its place among the latest assistant message's calls."""
    run: list[int] = []
    previous_was_tool = False
    for message in messages:
        if message.parts and message.role != "user":
            raise outside_user_message(message)
        if message.role == "system":
            if message.content:
                system.append(message.content)
            continue
        if message.role == "tool":
            response = {"name": _answered(message, names), "response": {"content": message.content or ""}}
            place = order.get(message.tool_call_id or "", len(order))
            if not previous_was_tool:
                run = []
                contents.append({"role": "user", "parts": []})
            at = bisect_right(run, place)
            run.insert(at, place)
            contents[-1]["parts"].insert(at, {"functionResponse": response})
            previous_was_tool = True
            continue
        previous_was_tool = False
        parts: list[dict[str, Any]] = [{"text": message.content}] if message.content else []
        if message.parts:
            parts = user_parts(message.parts, model=model)
        if message.role == "assistant":
            parts = model_parts(message)
            names |= {call.id: call.name for call in message.tool_calls}
            order = {call.id: i for i, call in enumerate(message.tool_calls)} if message.tool_calls else order
        if parts:
            contents.append({"role": "model" if message.role == "assistant" else "user", "parts": parts})
    return ("\n\n".join(system) or None), contents


def _answered(message: ChatMessage, names: Mapping[str, str]) -> str:
    name = names.get(message.tool_call_id or "") or message.name
    if not name:
        raise UnmappableRequestError("a tool message answers no earlier tool call and names no function")
    return name


# Responses.
def parts_to_domain(parts: Sequence[WirePart]) -> tuple[str | None, tuple[ToolCall, ...]]:
    """Answer text joined, and function calls as tool calls (each with its thought signature);
    thought summaries are not the answer (`thoughts` has them).

    Gemini ids its calls only sometimes; otherwise the gateway mints an id unique across the
    conversation (`tool_ids`), so a client never pairs a later turn's result with an earlier call.
    """
    texts = [p.text for p in parts if p.text is not None and not p.thought]
    calls = tuple(
        ToolCall(
            id=p.function_call.id or mint_tool_call_id(),
            name=p.function_call.name,
            arguments=json.dumps(p.function_call.args or {}),
            extra_content=signed(p.thought_signature),
        )
        for p in parts
        if p.function_call is not None
    )
    return ("".join(texts) if texts else None), calls


def thoughts(parts: Sequence[WirePart]) -> tuple[str | None, dict[str, Any] | None]:
    """The thought summaries joined (`reasoning_content`), and the signature of the parts that
    are not function calls as the message's `extra_content` (the last one, as Gemini puts it)."""
    texts = [p.text for p in parts if p.text and p.thought]
    signatures = [p.thought_signature for p in parts if p.thought_signature and p.function_call is None]
    return ("".join(texts) if texts else None), signed(signatures[-1] if signatures else None)
