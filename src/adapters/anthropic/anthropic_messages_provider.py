"""An `LLMProvider` over Anthropic's Messages API (Anthropic itself, or the AI Gateway's route)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from httpx_sse import SSEError, aconnect_sse
from pydantic import ValidationError

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
    identifier,
    request_to_wire,
)
from ideaforge_gateway.adapters.http.errors import error_for_status, error_for_transport, malformed, provider_label
from ideaforge_gateway.adapters.tool_arguments import UnmappableRequestError
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    GatewayError,
    InvalidRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    ProviderUnavailableError,
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
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider

_HEADERS = {"anthropic-version": ANTHROPIC_VERSION}
_PAGE_SIZE = 1000
_MAX_PAGES = 10
"""Bounds the model listing: a server that always says `has_more` must not loop us forever."""


class AnthropicMessagesProvider(LLMProvider):
    """Messages, SSE streaming and the model list at `{base_url}/v1/messages` and `/v1/models`.

    `base_url` is a bare origin (`https://api.anthropic.com`) or a gateway's route prefix. `auth`
    adds the credentials to each request: `HeaderAuth("x-api-key", "", key)` for Anthropic, a
    bearer token source through the AI Gateway. Every request names API version 2023-06-01.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        auth: httpx.Auth,
        provider: ProviderName = ProviderName.ANTHROPIC,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._auth = auth
        self._provider = provider

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self._provider.value!r}, base_url={self._base_url!r})"

    @property
    def name(self) -> ProviderName:
        return self._provider

    async def list_models(self) -> list[ModelInfo]:
        """Every page of `/v1/models`, up to a bound; a 401 here is how a bad key shows."""
        what = "model listing"
        models: list[ModelInfo] = []
        params: dict[str, str | int] = {"limit": _PAGE_SIZE}
        for _ in range(_MAX_PAGES):
            try:
                response = await self._http.get(
                    f"{self._base_url}/v1/models", params=params, headers=_HEADERS, auth=self._auth
                )
            except httpx.TransportError as exc:
                raise error_for_transport(self._provider, exc, what=what) from None
            if response.status_code != 200:
                raise error_for_status(
                    self._provider,
                    response.status_code,
                    response.headers,
                    what=what,
                    vendor_code=error_type(response.content),
                )
            try:
                page = WireModelList.model_validate_json(response.content)
            except ValidationError:
                raise malformed(self._provider, what="model list") from None
            models += [ModelInfo(id=m.id, provider=self._provider, owned_by="anthropic") for m in page.data]
            if not page.has_more or not page.last_id:
                break
            params = {"limit": _PAGE_SIZE, "after_id": page.last_id}
        return models

    async def chat(self, request: ChatRequest) -> ChatResponse:
        what = "chat message"
        body = self._body(request, stream=False)
        try:
            response = await self._http.post(
                f"{self._base_url}/v1/messages", json=body, headers=_HEADERS, auth=self._auth
            )
        except httpx.TransportError as exc:
            raise error_for_transport(self._provider, exc, what=what) from None
        if response.status_code != 200:
            raise self._error(response, request.model, what=what)
        try:
            message = WireMessage.model_validate_json(response.content)
        except ValidationError:
            raise malformed(self._provider, what="message") from None
        content, tool_calls = content_to_domain(message.content)
        return ChatResponse(
            provider=self._provider,
            model=message.model or request.model,
            content=content,
            tool_calls=tool_calls,
            finish_reason=finish_reason(message.stop_reason),
            usage=message.usage.to_domain() if message.usage else None,
            response_id=message.id,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamDelta]:
        """Deltas as the events arrive; complete only at `message_stop`, whose delta carries the
        finish reason and usage. An `error` event mid-way raises its domain error."""
        what = "streamed chat message"
        body = self._body(request, stream=True)
        assembler = StreamAssembler(self._provider, request.model)
        try:
            async with aconnect_sse(
                self._http, "POST", f"{self._base_url}/v1/messages", json=body, headers=dict(_HEADERS), auth=self._auth
            ) as source:
                response = source.response
                if response.status_code != 200:
                    await response.aread()
                    raise self._error(response, request.model, what=what)
                async for event in source.aiter_sse():
                    if not event.data:
                        continue
                    for delta in assembler.feed(event.data):
                        yield delta
                    if assembler.finished:
                        return
        except httpx.TransportError as exc:
            raise error_for_transport(self._provider, exc, what=what) from None
        except SSEError:
            raise malformed(self._provider, what="event stream") from None
        raise ProviderUnavailableError(
            f"{provider_label(self._provider)} stream ended before it was complete", provider=self._provider
        )

    def _body(self, request: ChatRequest, *, stream: bool) -> dict[str, object]:
        try:
            return request_to_wire(request, stream=stream)
        except UnmappableRequestError as exc:
            raise InvalidRequestError(
                f"{provider_label(self._provider)} cannot take this request: {exc}", provider=self._provider
            ) from None

    def _error(self, response: httpx.Response, model: str, *, what: str) -> GatewayError:
        code = error_type(response.content)
        if code == "not_found_error" or response.status_code == 404:
            return ModelNotFoundError(
                f"{provider_label(self._provider)} does not offer model {model!r} (HTTP {response.status_code})"
                + (f" ({code})" if code else ""),
                provider=self._provider,
            )
        return error_for_status(
            self._provider, response.status_code, response.headers, what=what, model=model, vendor_code=code
        )


def stream_error(provider: ProviderName, kind: str | None) -> GatewayError:
    """The domain error for an `error` event that arrives after the stream has begun."""
    label = provider_label(provider)
    code = identifier(kind) or "unknown"
    message = f"{label} stream failed mid-way ({code})"
    if code == "rate_limit_error":
        return RateLimitedError(message, provider=provider)
    if code == "authentication_error":
        return AuthenticationError(message, provider=provider)
    if code == "permission_error":
        return PermissionDeniedError(message, provider=provider)
    if code == "not_found_error":
        return ModelNotFoundError(message, provider=provider)
    if code in ("invalid_request_error", "request_too_large"):
        return InvalidRequestError(message, provider=provider)
    return ProviderUnavailableError(message, provider=provider)  # overloaded_error, api_error, anything new


class StreamAssembler:
    """Turns Anthropic's event stream into domain deltas.

    Content blocks are numbered across text and tool use; tool-call deltas are numbered among
    tool calls only (`ToolCallDelta.index` is the tool's ordinal), as OpenAI numbers them.
    `finished` becomes true at `message_stop` and only then, with a last delta that carries the
    finish reason and the usage. Unknown event types are ignored, as Anthropic asks clients to.
    """

    def __init__(self, provider: ProviderName, model: str) -> None:
        self._provider = provider
        self._model = model
        self._usage = WireUsage()
        self._stop_reason: str | None = None
        self._tools: dict[int, int] = {}
        """Content block index -> tool ordinal."""
        self._tool_has_arguments: dict[int, bool] = {}
        self.finished = False

    def feed(self, data: str) -> list[StreamDelta]:
        try:
            event = WireEvent.model_validate_json(data)
        except ValidationError:
            raise malformed(self._provider, what="stream event") from None
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
            self.finished = True
            return [
                StreamDelta(
                    finish_reason=finish_reason(self._stop_reason) or "stop",
                    usage=self._usage.to_domain(),
                    model=self._model,
                )
            ]
        elif event.type == "error":
            raise stream_error(self._provider, event.error.type if event.error else None)
        return []

    def _block_start(self, index: int, block: WireContentBlock) -> list[StreamDelta]:
        if block.type == "text" and block.text:
            return [StreamDelta(content=block.text, model=self._model)]
        if block.type != "tool_use":
            return []
        ordinal = self._tools[index] = len(self._tools)
        # Anthropic starts a tool block with an empty `input` and streams the JSON after it;
        # a proxy that sends the whole input up front is honoured too.
        arguments = json.dumps(block.input) if block.input else ""
        self._tool_has_arguments[ordinal] = bool(arguments)
        call = ToolCallDelta(index=ordinal, id=block.id, name=block.name, arguments=arguments)
        return [StreamDelta(tool_calls=(call,), model=self._model)]

    def _block_delta(self, index: int, delta: WireEventDelta) -> list[StreamDelta]:
        if delta.type == "text_delta" and delta.text:
            return [StreamDelta(content=delta.text, model=self._model)]
        if delta.type == "input_json_delta" and delta.partial_json and index in self._tools:
            ordinal = self._tools[index]
            self._tool_has_arguments[ordinal] = True
            call = ToolCallDelta(index=ordinal, arguments=delta.partial_json)
            return [StreamDelta(tool_calls=(call,), model=self._model)]
        return []

    def _block_stop(self, index: int) -> list[StreamDelta]:
        ordinal = self._tools.get(index)
        if ordinal is None or self._tool_has_arguments[ordinal]:
            return []
        # A call without arguments streams no JSON at all; "{}" keeps it parseable, as in `chat`.
        return [StreamDelta(tool_calls=(ToolCallDelta(index=ordinal, arguments="{}"),), model=self._model)]
