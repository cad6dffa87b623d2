"""Pydantic models of the OpenAI chat-completions wire format, and the mapping to the domain."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ideaforge_gateway.adapters.http.errors import vendor_code
from ideaforge_gateway.domain.models import (
    ChatMessage,
    ChatRequest,
    ToolCall,
    ToolCallDelta,
    Usage,
)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WireFunction(_Wire):
    name: str | None = None
    arguments: str | None = None


class WireToolCall(_Wire):
    index: int = 0
    id: str | None = None
    type: str | None = "function"
    function: WireFunction = WireFunction()


class WireMessage(_Wire):
    role: str | None = None
    content: str | None = None
    tool_calls: list[WireToolCall] | None = None


class WireChoice(_Wire):
    index: int = 0
    message: WireMessage = WireMessage()
    finish_reason: str | None = None


class WireUsage(_Wire):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def to_domain(self) -> Usage:
        return Usage(self.prompt_tokens, self.completion_tokens, self.total_tokens)


class WireCompletion(_Wire):
    id: str | None = None
    model: str | None = None
    choices: list[WireChoice]
    usage: WireUsage | None = None


class WireDeltaChoice(_Wire):
    index: int = 0
    delta: WireMessage = WireMessage()
    finish_reason: str | None = None


class WireChunk(_Wire):
    id: str | None = None
    model: str | None = None
    choices: list[WireDeltaChoice] = []
    usage: WireUsage | None = None


class WireModel(_Wire):
    id: str
    owned_by: str | None = None


class WireModelList(_Wire):
    data: list[WireModel]


class WireErrorDetail(_Wire):
    code: str | int | None = None
    type: str | None = None


class WireError(_Wire):
    error: WireErrorDetail


def error_code(body: bytes) -> str | None:
    """The vendor's error code or type, when it is a plain identifier; never free text."""
    try:
        detail = WireError.model_validate_json(body).error
    except ValidationError:
        return None
    for candidate in (detail.code, detail.type):
        code = vendor_code(candidate)
        if code is not None:
            return code
    return None


def message_to_wire(message: ChatMessage) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        wire["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        wire["name"] = message.name
    return wire


def request_to_wire(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = dict(request.extra)
    body["model"] = request.model
    body["messages"] = [message_to_wire(m) for m in request.messages]
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
            }
            for t in request.tools
        ]
        if request.tool_choice is not None:
            body["tool_choice"] = request.tool_choice
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.stop:
        body["stop"] = list(request.stop)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    else:
        body.pop("stream", None)
    return body


def tool_calls_to_domain(calls: list[WireToolCall] | None) -> tuple[ToolCall, ...]:
    if not calls:
        return ()
    return tuple(
        ToolCall(id=c.id or f"call_{i}", name=c.function.name or "", arguments=c.function.arguments or "")
        for i, c in enumerate(calls)
    )


def tool_call_deltas_to_domain(calls: list[WireToolCall] | None) -> tuple[ToolCallDelta, ...]:
    if not calls:
        return ()
    return tuple(
        ToolCallDelta(index=c.index, id=c.id, name=c.function.name, arguments=c.function.arguments or "") for c in calls
    )
