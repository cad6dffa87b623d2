"""Pydantic models of Anthropic's Messages wire format, and the mapping to and from the domain.

Pure functions, no I/O: every quirk of the format is unit tested here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ideaforge_gateway.adapters.anthropic import structured_outputs
from ideaforge_gateway.adapters.anthropic.content import user_blocks
from ideaforge_gateway.adapters.anthropic.thinking import history_blocks, thinking_to_wire
from ideaforge_gateway.adapters.content_parts import outside_user_message
from ideaforge_gateway.adapters.http.errors import vendor_code
from ideaforge_gateway.adapters.parameters import refuse_untranslated
from ideaforge_gateway.adapters.tool_arguments import UnmappableRequestError, tool_arguments
from ideaforge_gateway.adapters.tool_ids import mint_tool_call_id
from ideaforge_gateway.domain.models import ChatMessage, ChatRequest, ToolCall, Usage

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
"""Anthropic requires `max_tokens`; this is what a request that names none gets."""

_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_TOOL_CHOICES = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WireUsage(_Wire):
    """Counts as Anthropic reports them. None means "not in this event": a `message_delta` may
    carry only `output_tokens`, and must not reset the input counts `message_start` gave."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None

    def merged(self, newer: WireUsage) -> WireUsage:
        return WireUsage.model_validate(self.model_dump() | newer.model_dump(exclude_none=True))

    def to_domain(self) -> Usage:
        # Anthropic leaves cached tokens out of `input_tokens`; OpenAI's `prompt_tokens` counts
        # them, and callers compare the two, so they are added back.
        prompt = (
            (self.input_tokens or 0) + (self.cache_creation_input_tokens or 0) + (self.cache_read_input_tokens or 0)
        )
        completion = self.output_tokens or 0
        return Usage(prompt, completion, prompt + completion)


class WireContentBlock(_Wire):
    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: dict[str, Any] | None = None
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None


class WireMessage(_Wire):
    id: str | None = None
    model: str | None = None
    content: list[WireContentBlock] = []
    stop_reason: str | None = None
    usage: WireUsage | None = None


class WireEventDelta(_Wire):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    stop_reason: str | None = None
    thinking: str | None = None
    signature: str | None = None


class WireErrorDetail(_Wire):
    type: str | None = None


class WireEvent(_Wire):
    """One server-sent event; `type` says which of the optional fields it carries."""

    type: str
    message: WireMessage | None = None
    index: int | None = None
    content_block: WireContentBlock | None = None
    delta: WireEventDelta | None = None
    usage: WireUsage | None = None
    error: WireErrorDetail | None = None


class WireModel(_Wire):
    id: str


class WireModelList(_Wire):
    data: list[WireModel]
    has_more: bool = False
    last_id: str | None = None


class WireError(_Wire):
    error: WireErrorDetail


def identifier(value: str | None) -> str | None:
    """`value` when it is a plain identifier, fit for a message; None for anything else."""
    return vendor_code(value)


def error_type(body: bytes) -> str | None:
    """The vendor's error `type` when it is a plain identifier; never the free-text message."""
    try:
        return identifier(WireError.model_validate_json(body).error.type)
    except ValidationError:
        return None


def finish_reason(stop_reason: str | None) -> str | None:
    """Anthropic's `stop_reason` in OpenAI's words; an unknown one is passed on unchanged."""
    return None if stop_reason is None else _FINISH_REASONS.get(stop_reason, stop_reason)


# Requests.
TRANSLATED = frozenset(
    {"max_completion_tokens", "top_p", "top_k", "user", "parallel_tool_calls", "reasoning_effort", "response_format"}
)
"""OpenAI parameters (besides the typed ones) this format translates; others are refused by name."""


def request_to_wire(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The `/v1/messages` body. Raises `UnmappableRequestError` for what Anthropic cannot express."""
    options = request.options
    extra = options.extra
    refuse_untranslated(extra, TRANSLATED)
    system, messages = messages_to_wire(request.messages)
    max_tokens = options.max_tokens or extra.get("max_completion_tokens") or DEFAULT_MAX_TOKENS
    body: dict[str, Any] = {"model": request.model, "max_tokens": max_tokens, "messages": messages}
    if system:
        body["system"] = system
    if options.tools:
        body["tools"] = [
            {"name": t.name, "input_schema": dict(t.parameters)}
            | ({"description": t.description} if t.description else {})
            | structured_outputs.strict_tool(t, request.model)
            for t in options.tools
        ]
        choice = tool_choice_to_wire(options.tool_choice, parallel=extra.get("parallel_tool_calls"))
        if choice is not None:
            body["tool_choice"] = choice
    if options.temperature is not None:
        # Anthropic accepts 0..1 where OpenAI accepts 0..2: a request the chain falls over with
        # must not be refused here for a range only one vendor allows.
        body["temperature"] = min(max(options.temperature, 0.0), 1.0)
    if options.stop:
        body["stop_sequences"] = list(options.stop)
    for key in ("top_p", "top_k"):
        if extra.get(key) is not None:
            body[key] = extra[key]
    if isinstance(extra.get("user"), str):
        body["metadata"] = {"user_id": extra["user"]}
    thinking_to_wire(request, body, default_max_tokens=DEFAULT_MAX_TOKENS)
    structured_outputs.apply(body, request)
    if stream:
        body["stream"] = True
    return body


def tool_choice_to_wire(choice: str | Mapping[str, Any] | None, *, parallel: object = None) -> dict[str, Any] | None:
    """OpenAI's `tool_choice` (`auto`, `none`, `required`, or a named function) in Anthropic's terms."""
    wire: dict[str, Any] | None
    if choice is None:
        wire = None
    elif isinstance(choice, str):
        if choice not in _TOOL_CHOICES:
            raise UnmappableRequestError(f"tool_choice {choice!r} is not one of auto, none, required")
        wire = dict(_TOOL_CHOICES[choice])
    else:
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
        if not isinstance(name, str):
            raise UnmappableRequestError("tool_choice names no function")
        wire = {"type": "tool", "name": name}
    if parallel is False and (wire is None or wire["type"] != "none"):
        wire = (wire or {"type": "auto"}) | {"disable_parallel_tool_use": True}
    return wire


def messages_to_wire(messages: Sequence[ChatMessage]) -> tuple[str | None, list[dict[str, Any]]]:
    """The top-level `system` text and the `messages` list.

    System messages, wherever they are, join the top-level `system`. A run of `tool` messages
    becomes one user message of `tool_result` blocks, as Anthropic wants all results for one
    assistant turn together. Messages with nothing to say are left out: Anthropic refuses empty
    text blocks.
    """
    system: list[str] = []
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.parts and message.role != "user":
            raise outside_user_message(message)
        if message.role == "system":
            if message.content:
                system.append(message.content)
        elif message.role == "tool":
            block = _tool_result(message)
            previous = wire[-1] if wire else None
            if previous is not None and previous["role"] == "user" and _all_tool_results(previous["content"]):
                previous["content"].append(block)
            else:
                wire.append({"role": "user", "content": [block]})
        elif message.role == "assistant":
            blocks = _assistant_blocks(message)
            if blocks:
                wire.append({"role": "assistant", "content": blocks})
        elif message.parts:
            wire.append({"role": "user", "content": user_blocks(message.parts)})
        elif message.content:
            wire.append({"role": "user", "content": message.content})
    return ("\n\n".join(system) or None), wire


def _tool_result(message: ChatMessage) -> dict[str, Any]:
    if not message.tool_call_id:
        raise UnmappableRequestError("a tool message names no tool_call_id")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
    if message.content:
        block["content"] = message.content
    return block


def _all_tool_results(content: object) -> bool:
    return isinstance(content, list) and all(block.get("type") == "tool_result" for block in content)


def _assistant_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    blocks = history_blocks(message)  # signed thinking first, as Anthropic wrote the turn
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": tool_arguments(call)})
    return blocks


# Responses.
def content_to_domain(blocks: Sequence[WireContentBlock]) -> tuple[str | None, tuple[ToolCall, ...]]:
    """Text blocks joined, and `tool_use` blocks as tool calls (an id the vendor left out is
    minted, unique across turns); thinking blocks are not the answer (`thinking.answer_thinking`)."""
    texts = [b.text for b in blocks if b.type == "text" and b.text is not None]
    calls = tuple(
        ToolCall(id=b.id or mint_tool_call_id(), name=b.name or "", arguments=json.dumps(b.input or {}))
        for b in blocks
        if b.type == "tool_use"
    )
    return ("".join(texts) if texts else None), calls
