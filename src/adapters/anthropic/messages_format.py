"""Anthropic's Messages API as a `WireFormat`: `/v1/messages` (SSE too) and `/v1/models`, every
request naming API version 2023-06-01. Spoken by Anthropic and by the AI Gateway's Anthropic
route. Pure: no I/O (the request and response shapes are in `wire.py`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from pydantic import ValidationError

from ideaforge_gateway.adapters.anthropic import structured_outputs
from ideaforge_gateway.adapters.anthropic.thinking import ThinkingStream, answer_thinking
from ideaforge_gateway.adapters.anthropic.wire import (
    ANTHROPIC_VERSION,
    WireContentBlock,
    WireEvent,
    WireEventDelta,
    WireMessage,
    WireModelList,
    WireUsage,
    content_to_domain,
    error_type,
    finish_reason,
    request_to_wire,
)
from ideaforge_gateway.adapters.http.errors import (
    error_for_status,
    incomplete_stream,
    malformed,
    provider_label,
    stream_failure,
)
from ideaforge_gateway.adapters.tool_arguments import refused_as_invalid
from ideaforge_gateway.adapters.tool_ids import mint_tool_call_id
from ideaforge_gateway.adapters.wire_format import ModelPage, WireCall, WireFormat, json_body
from ideaforge_gateway.adapters.wire_format import StreamAssembler as WireStreamAssembler
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    GatewayError,
    InvalidRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from ideaforge_gateway.domain.models import (
    ChatRequest,
    ChatResponse,
    ModelInfo,
    ProviderName,
    StreamDelta,
    ToolCallDelta,
)

_HEADERS = {"anthropic-version": ANTHROPIC_VERSION}
_PAGE_SIZE = "1000"


@dataclass(frozen=True, slots=True)
class AnthropicMessagesFormat(WireFormat):
    """Under a bare origin (`https://api.anthropic.com`) or a gateway's route prefix."""

    provider: ProviderName = ProviderName.ANTHROPIC
    chat_what: ClassVar[str] = "chat message"
    joins_text: ClassVar[bool] = False

    def chat_call(self, request: ChatRequest, *, stream: bool) -> WireCall:
        with refused_as_invalid(self.provider):
            body = request_to_wire(request, stream=stream)
        return WireCall("/v1/messages", json_body(body), headers=_HEADERS)

    def chat_response(self, body: bytes, request: ChatRequest) -> ChatResponse:
        try:
            message = WireMessage.model_validate_json(body)
        except ValidationError:
            raise malformed(self.provider, what="message") from None
        content, tool_calls = content_to_domain(message.content)
        reasoning, thinking_blocks = answer_thinking(message.content)
        response = ChatResponse(
            provider=self.provider,
            model=message.model or request.model,
            content=content,
            tool_calls=tool_calls,
            finish_reason=finish_reason(message.stop_reason),
            usage=message.usage.to_domain() if message.usage else None,
            response_id=message.id,
            reasoning_content=reasoning,
            thinking_blocks=thinking_blocks,
        )
        return structured_outputs.answer(response, request)

    def stream_assembler(self, request: ChatRequest) -> WireStreamAssembler:
        return structured_outputs.wrap_stream(StreamAssembler(self.provider, request.model), request)

    def models_call(self) -> WireCall:
        """Every page of `/v1/models`; a 401 here is how a bad key shows."""
        return WireCall("/v1/models", params={"limit": _PAGE_SIZE}, headers=_HEADERS)

    def models_page(self, body: bytes) -> ModelPage:
        try:
            page = WireModelList.model_validate_json(body)
        except ValidationError:
            raise malformed(self.provider, what="model list") from None
        models = [ModelInfo(id=m.id, provider=self.provider, owned_by="anthropic") for m in page.data]
        if not page.has_more or not page.last_id:
            return ModelPage(models)
        following = WireCall("/v1/models", params={"limit": _PAGE_SIZE, "after_id": page.last_id}, headers=_HEADERS)
        return ModelPage(models, following)

    def error(
        self, status: int, headers: Mapping[str, str], body: bytes, *, what: str, model: str | None
    ) -> GatewayError:
        code = error_type(body)
        if model is not None and (code == "not_found_error" or status == 404):
            return ModelNotFoundError(
                f"{provider_label(self.provider)} does not offer model {model!r} (HTTP {status})"
                + (f" ({code})" if code else ""),
                provider=self.provider,
            )
        return error_for_status(self.provider, status, headers, what=what, model=model, vendor_code=code)


_STREAM_ERRORS: dict[str, type[GatewayError]] = {
    "rate_limit_error": RateLimitedError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": ModelNotFoundError,
    "invalid_request_error": InvalidRequestError,
    "request_too_large": InvalidRequestError,
}


def stream_error(provider: ProviderName, kind: str | None) -> GatewayError:
    """The domain error for an `error` event that arrives after the stream has begun."""
    return stream_failure(provider, kind, _STREAM_ERRORS)


class StreamAssembler:
    """Turns Anthropic's event stream into domain deltas.

    Content blocks are numbered across text and tool use; tool-call deltas are numbered among
    tool calls only (`ToolCallDelta.index` is the tool's ordinal), as OpenAI numbers them.
    `done` becomes true at `message_stop` and only then, with a last delta that carries the
    finish reason and the usage; a stream that ends before it is incomplete. Unknown event
    types are ignored, as Anthropic asks clients to.
    """

    def __init__(self, provider: ProviderName, model: str) -> None:
        self.provider = provider
        self._model = model
        self._usage = WireUsage()
        self._stop_reason: str | None = None
        self._tools: dict[int, int] = {}
        """Content block index -> tool ordinal."""
        self._tool_has_arguments: dict[int, bool] = {}
        self._thinking = ThinkingStream()
        self.done = False

    def feed(self, data: str) -> list[StreamDelta]:
        try:
            event = WireEvent.model_validate_json(data)
        except ValidationError:
            raise malformed(self.provider, what="stream event") from None
        if event.type == "message_start" and event.message is not None:
            self._model = event.message.model or self._model
            self._usage = self._usage.merged(event.message.usage or WireUsage())
        elif event.type == "content_block_start" and event.content_block is not None:
            return self._block_start(event.index or 0, event.content_block)
        elif event.type == "content_block_delta" and event.delta is not None:
            return self._block_delta(event.index or 0, event.delta)
        elif event.type == "content_block_stop":
            return self._block_stop(event.index or 0)
        elif event.type == "message_delta":
            if event.delta is not None and event.delta.stop_reason is not None:
                self._stop_reason = event.delta.stop_reason
            self._usage = self._usage.merged(event.usage or WireUsage())
        elif event.type == "message_stop":
            self.done = True
            return [
                StreamDelta(
                    finish_reason=finish_reason(self._stop_reason) or "stop",
                    usage=self._usage.to_domain(),
                    model=self._model,
                )
            ]
        elif event.type == "error":
            raise stream_error(self.provider, event.error.type if event.error else None)
        return []

    def at_end(self) -> list[StreamDelta]:
        raise incomplete_stream(self.provider)

    def _block_start(self, index: int, block: WireContentBlock) -> list[StreamDelta]:
        if block.type == "text" and block.text:
            return [StreamDelta(content=block.text, model=self._model)]
        if self._thinking.start(index, block):
            return [StreamDelta(reasoning_content=block.thinking, model=self._model)] if block.thinking else []
        if block.type != "tool_use":
            return []
        ordinal = self._tools[index] = len(self._tools)
        # Anthropic starts a tool block with an empty `input` and streams the JSON after it;
        # a proxy that sends the whole input up front is honoured too.
        arguments = json.dumps(block.input) if block.input else ""
        self._tool_has_arguments[ordinal] = bool(arguments)
        call = ToolCallDelta(index=ordinal, id=block.id or mint_tool_call_id(), name=block.name, arguments=arguments)
        return [StreamDelta(tool_calls=(call,), model=self._model)]

    def _block_delta(self, index: int, delta: WireEventDelta) -> list[StreamDelta]:
        if delta.type == "text_delta" and delta.text:
            return [StreamDelta(content=delta.text, model=self._model)]
        if (reasoning := self._thinking.delta(index, delta)) is not None:
            return [StreamDelta(reasoning_content=reasoning, model=self._model)]
        if delta.type == "input_json_delta" and delta.partial_json and index in self._tools:
            ordinal = self._tools[index]
            self._tool_has_arguments[ordinal] = True
            call = ToolCallDelta(index=ordinal, arguments=delta.partial_json)
            return [StreamDelta(tool_calls=(call,), model=self._model)]
        return []

    def _block_stop(self, index: int) -> list[StreamDelta]:
        if (thinking := self._thinking.stop(index)) is not None:
            return [StreamDelta(thinking_blocks=(thinking,), model=self._model)]
        ordinal = self._tools.get(index)
        if ordinal is None or self._tool_has_arguments[ordinal]:
            return []
        # A call without arguments streams no JSON at all; "{}" keeps it parseable, as in `chat`.
        return [StreamDelta(tool_calls=(ToolCallDelta(index=ordinal, arguments="{}"),), model=self._model)]
