"""OpenAI's chat-completions wire format, as a pure translation (`WireFormat`): request to body,
body to response, a stream assembler, vendor error to domain error. Spoken by OpenAI and by the
AI Gateway's `/v1`; unit-tested on bytes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ideaforge_gateway.adapters.content_parts import openai_part
from ideaforge_gateway.adapters.http.errors import (
    error_for_status,
    incomplete_stream,
    malformed,
    provider_label,
    stream_failure,
    vendor_code,
)
from ideaforge_gateway.adapters.tool_ids import mint_tool_call_id
from ideaforge_gateway.adapters.wire_format import ModelPage, WireCall, WireFormat, json_body
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    GatewayError,
    InvalidRequestError,
    ModelNotFoundError,
    RateLimitedError,
)
from ideaforge_gateway.domain.models import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    Choice,
    ModelInfo,
    ProviderName,
    StreamDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)

_MODEL_NOT_FOUND_CODES = frozenset({"model_not_found", "NotFoundError"})


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Answer(BaseModel):
    """A part of the upstream's answer: the fields the gateway does not interpret are kept
    (`model_extra`) and passed on to the client as they came (issue 13: what the provider
    answered is what the client gets)."""

    model_config = ConfigDict(extra="allow")


def extras(part: BaseModel) -> dict[str, Any] | None:
    """`part`'s fields the gateway does not interpret, or None when there are none."""
    return part.model_extra or None


class WireFunction(_Wire):
    name: str | None = None
    arguments: str | None = None


class WireToolCall(_Wire):
    index: int | None = None
    id: str | None = None
    type: str | None = "function"
    function: WireFunction = WireFunction()
    extra_content: dict[str, Any] | None = None
    """Gemini's OpenAI-compatible endpoint puts a call's thought signature here."""


class WireMessage(_Answer):
    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[WireToolCall] | None = None


class WireChoice(_Answer):
    index: int = 0
    message: WireMessage = WireMessage()
    finish_reason: str | None = None


class WireUsage(_Answer):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def to_domain(self) -> Usage:
        return Usage(self.prompt_tokens, self.completion_tokens, self.total_tokens, extras(self))


class WireCompletion(_Answer):
    id: str | None = None
    object: str | None = None
    """The gateway's own (`chat.completion`), as are `id` and `created`: not passed on."""
    created: int | None = None
    model: str | None = None
    choices: list[WireChoice]
    usage: WireUsage | None = None


class WireErrorDetail(_Wire):
    code: str | int | None = None
    type: str | None = None
    param: str | None = None


class WireDeltaChoice(_Answer):
    index: int = 0
    delta: WireMessage = WireMessage()
    finish_reason: str | None = None


class WireChunk(_Answer):
    error: WireErrorDetail | None = None
    """An in-band error event (`data: {"error": {...}}`): the stream failed."""
    id: str | None = None
    object: str | None = None
    created: int | None = None
    model: str | None = None
    choices: list[WireDeltaChoice] = []
    usage: WireUsage | None = None


class WireModel(_Wire):
    id: str
    owned_by: str | None = None


class WireModelList(_Wire):
    data: list[WireModel]


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


def error_param(body: bytes) -> str | None:
    """The request parameter the vendor's error names, if any (checked by `error_for_status`)."""
    try:
        return WireError.model_validate_json(body).error.param
    except ValidationError:
        return None


def message_to_wire(message: ChatMessage) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.parts:
        wire["content"] = [openai_part(p) for p in message.parts]
    if message.tool_calls:
        wire["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            | ({"extra_content": dict(call.extra_content)} if call.extra_content else {})
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        wire["name"] = message.name
    if message.reasoning_content is not None:
        wire["reasoning_content"] = message.reasoning_content
    return wire


def request_to_wire(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    options = request.options
    body: dict[str, Any] = dict(options.extra)
    body["model"] = request.model
    body["messages"] = [message_to_wire(m) for m in request.messages]
    if options.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)}
                | ({"strict": t.strict} if t.strict is not None else {}),
            }
            for t in options.tools
        ]
        if options.tool_choice is not None:
            body["tool_choice"] = options.tool_choice
    if options.temperature is not None:
        body["temperature"] = options.temperature
    if options.max_tokens is not None:
        body["max_tokens"] = options.max_tokens
    if options.stop:
        body["stop"] = list(options.stop)
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
        ToolCall(
            id=c.id or mint_tool_call_id(),
            name=c.function.name or "",
            arguments=c.function.arguments or "",
            extra_content=c.extra_content,
        )
        for c in calls
    )


_STREAM_ERRORS: dict[str, type[GatewayError]] = {
    "rate_limit_exceeded": RateLimitedError,
    "insufficient_quota": RateLimitedError,
    "invalid_request_error": InvalidRequestError,
    "context_length_exceeded": InvalidRequestError,
    "invalid_api_key": AuthenticationError,
    "model_not_found": ModelNotFoundError,
}


class ToolCallNumbering:
    """The `index` of each streamed tool-call fragment, correct even when the upstream omits it.

    Gemini's OpenAI-compatible endpoint sends each parallel call whole, with its own `id` and no
    `index`: a fragment without an index continues the call its `id` names, or starts the next
    call for a new `id`, or continues the latest call when it has no `id` (issue 13, case 4).
    """

    def __init__(self) -> None:
        self._by_id: dict[str, int] = {}
        self._latest: int | None = None
        self._count = 0

    def index(self, call: WireToolCall) -> int:
        if call.index is not None:
            index = call.index
        elif call.id is not None and call.id in self._by_id:
            index = self._by_id[call.id]
        elif call.id is None and self._latest is not None:
            index = self._latest
        else:
            index = self._count
        if call.id is not None:
            self._by_id.setdefault(call.id, index)
        self._count = max(self._count, index + 1)
        self._latest = index
        return index

    def deltas(self, calls: list[WireToolCall] | None) -> tuple[ToolCallDelta, ...]:
        return tuple(
            ToolCallDelta(
                index=self.index(c),
                id=c.id,
                name=c.function.name,
                arguments=c.function.arguments or "",
                extra_content=c.extra_content,
            )
            for c in calls or ()
        )


@dataclass(frozen=True, slots=True)
class OpenAIChatCompletionsFormat(WireFormat):
    """`/chat/completions` (SSE with `stream_options.include_usage`) and `/models`, under a base
    URL that includes the version path (`https://api.openai.com/v1`)."""

    provider: ProviderName = ProviderName.OPENAI
    chat_what: ClassVar[str] = "chat completion"
    joins_text: ClassVar[bool] = True

    def chat_call(self, request: ChatRequest, *, stream: bool) -> WireCall:
        return WireCall("/chat/completions", json_body(request_to_wire(request, stream=stream)))

    def chat_response(self, body: bytes, request: ChatRequest) -> ChatResponse:
        try:
            completion = WireCompletion.model_validate_json(body)
        except ValidationError:
            raise malformed(self.provider, what="chat completion") from None
        if not completion.choices:
            raise malformed(self.provider, what="chat completion (no choices)")
        choices = tuple(
            Choice(
                index=c.index,
                content=c.message.content,
                tool_calls=tool_calls_to_domain(c.message.tool_calls),
                finish_reason=c.finish_reason,
                reasoning_content=c.message.reasoning_content,
                extra=extras(c),
                message_extra=extras(c.message),
            )
            for c in completion.choices
        )
        first = choices[0]
        return ChatResponse(
            provider=self.provider,
            model=completion.model or request.model,
            content=first.content,
            tool_calls=first.tool_calls,
            finish_reason=first.finish_reason,
            usage=completion.usage.to_domain() if completion.usage else None,
            response_id=completion.id,
            reasoning_content=first.reasoning_content,
            choices=choices,
            extra=extras(completion),
        )

    def stream_assembler(self, request: ChatRequest) -> StreamAssembler:
        return StreamAssembler(self.provider)

    def models_call(self) -> WireCall:
        return WireCall("/models")

    def models_page(self, body: bytes) -> ModelPage:
        try:
            listing = WireModelList.model_validate_json(body)
        except ValidationError:
            raise malformed(self.provider, what="model list") from None
        return ModelPage([ModelInfo(id=m.id, provider=self.provider, owned_by=m.owned_by) for m in listing.data])

    def error(
        self, status: int, headers: Mapping[str, str], body: bytes, *, what: str, model: str | None
    ) -> GatewayError:
        code = error_code(body)
        if code in _MODEL_NOT_FOUND_CODES and model is not None:
            return ModelNotFoundError(
                f"{provider_label(self.provider)} does not offer model {model!r} ({code})", provider=self.provider
            )
        return error_for_status(
            self.provider, status, headers, what=what, model=model, vendor_code=code, param=error_param(body)
        )


class StreamAssembler:
    """Chunks to deltas; `done` at `[DONE]`, without which the stream is incomplete. An in-band
    `{"error": {...}}` event is the failure it names (issue 13, case 3), never part of a finish."""

    def __init__(self, provider: ProviderName) -> None:
        self.provider = provider
        self.done = False
        self._tool_calls: dict[int, ToolCallNumbering] = {}  # per choice

    def feed(self, data: str) -> list[StreamDelta]:
        if data == "[DONE]":
            self.done = True
            return []
        try:
            chunk = WireChunk.model_validate_json(data)
        except ValidationError:
            raise malformed(self.provider, what="stream chunk") from None
        if chunk.error is not None:
            code = vendor_code(chunk.error.code) or vendor_code(chunk.error.type)
            raise stream_failure(self.provider, code, _STREAM_ERRORS)
        usage = chunk.usage.to_domain() if chunk.usage else None
        chunk_extra = extras(chunk)
        if not chunk.choices:
            return [StreamDelta(usage=usage, model=chunk.model, chunk_extra=chunk_extra)] if usage else []
        deltas = []
        for choice in chunk.choices:  # one each when `n` asked for several
            numbering = self._tool_calls.get(choice.index)
            if numbering is None:
                numbering = self._tool_calls[choice.index] = ToolCallNumbering()
            deltas.append(
                StreamDelta(
                    content=choice.delta.content,
                    tool_calls=numbering.deltas(choice.delta.tool_calls),
                    finish_reason=choice.finish_reason,
                    usage=usage,
                    model=chunk.model,
                    reasoning_content=choice.delta.reasoning_content,
                    index=choice.index,
                    chunk_extra=chunk_extra,
                    choice_extra=extras(choice),
                    delta_extra=extras(choice.delta),
                )
            )
            usage = None  # carried once, by the chunk's first choice
        return deltas

    def at_end(self) -> list[StreamDelta]:
        raise incomplete_stream(self.provider)
