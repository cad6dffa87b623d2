"""An `LLMProvider` over any OpenAI-compatible `/v1` route (OpenAI itself, the AI Gateway)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from httpx_sse import SSEError, aconnect_sse
from pydantic import ValidationError

from adapters.http.errors import error_for_status, error_for_transport, malformed, provider_label
from adapters.openai_compat.wire import (
    WireChunk,
    WireCompletion,
    WireModelList,
    error_code,
    request_to_wire,
    tool_call_deltas_to_domain,
    tool_calls_to_domain,
)
from domain.errors import ModelNotFoundError, ProviderUnavailableError
from domain.models import ChatRequest, ChatResponse, ModelInfo, ProviderName, StreamDelta
from domain.ports.llm_provider import LLMProvider

_MODEL_NOT_FOUND_CODES = frozenset({"model_not_found", "NotFoundError"})


class OpenAIChatCompletionsProvider(LLMProvider):
    """Chat completions, SSE streaming and the model list at `{base_url}/chat/completions` etc.

    `base_url` includes the version path (`https://api.openai.com/v1`); `auth` adds credentials
    to each request (a bearer token source, or a fixed API key).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        auth: httpx.Auth,
        provider: ProviderName,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        # Parsed once: httpx parses a str URL on every request (about 10 µs, `httpx._urlparse`).
        self._chat_url = httpx.URL(f"{self._base_url}/chat/completions")
        self._models_url = httpx.URL(f"{self._base_url}/models")
        self._auth = auth
        self._provider = provider

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self._provider.value!r}, base_url={self._base_url!r})"

    @property
    def name(self) -> ProviderName:
        return self._provider

    async def list_models(self) -> list[ModelInfo]:
        what = "model listing"
        try:
            response = await self._http.get(self._models_url, auth=self._auth)
        except httpx.TransportError as exc:
            raise error_for_transport(self._provider, exc, what=what) from None
        if response.status_code != 200:
            raise error_for_status(self._provider, response, what=what, vendor_code=error_code(response.content))
        try:
            listing = WireModelList.model_validate_json(response.content)
        except ValidationError:
            raise malformed(self._provider, what="model list") from None
        return [ModelInfo(id=m.id, provider=self._provider, owned_by=m.owned_by) for m in listing.data]

    async def chat(self, request: ChatRequest) -> ChatResponse:
        what = "chat completion"
        try:
            response = await self._http.post(
                self._chat_url, json=request_to_wire(request, stream=False), auth=self._auth
            )
        except httpx.TransportError as exc:
            raise error_for_transport(self._provider, exc, what=what) from None
        if response.status_code != 200:
            raise self._error(response, request.model)
        try:
            completion = WireCompletion.model_validate_json(response.content)
        except ValidationError:
            raise malformed(self._provider, what="chat completion") from None
        if not completion.choices:
            raise malformed(self._provider, what="chat completion (no choices)")
        choice = completion.choices[0]
        return ChatResponse(
            provider=self._provider,
            model=completion.model or request.model,
            content=choice.message.content,
            tool_calls=tool_calls_to_domain(choice.message.tool_calls),
            finish_reason=choice.finish_reason,
            usage=completion.usage.to_domain() if completion.usage else None,
            response_id=completion.id,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamDelta]:
        what = "streamed chat completion"
        body = request_to_wire(request, stream=True)
        try:
            async with aconnect_sse(
                self._http,
                "POST",
                self._chat_url,  # type: ignore[arg-type]  # httpx-sse annotates str; httpx takes a URL as well
                json=body,
                auth=self._auth,
            ) as source:
                response = source.response
                if response.status_code != 200:
                    await response.aread()
                    raise self._error(response, request.model)
                async for event in source.aiter_sse():
                    if event.data == "[DONE]":
                        return
                    if not event.data:
                        continue
                    delta = self._delta(event.data)
                    if delta is not None:
                        yield delta
        except httpx.TransportError as exc:
            raise error_for_transport(self._provider, exc, what=what) from None
        except SSEError:
            raise malformed(self._provider, what="event stream") from None
        raise ProviderUnavailableError(
            f"{provider_label(self._provider)} stream ended before it was complete", provider=self._provider
        )

    def _delta(self, data: str) -> StreamDelta | None:
        try:
            chunk = WireChunk.model_validate_json(data)
        except ValidationError:
            raise malformed(self._provider, what="stream chunk") from None
        usage = chunk.usage.to_domain() if chunk.usage else None
        if not chunk.choices:
            return StreamDelta(usage=usage, model=chunk.model) if usage else None
        choice = chunk.choices[0]
        return StreamDelta(
            content=choice.delta.content,
            tool_calls=tool_call_deltas_to_domain(choice.delta.tool_calls),
            finish_reason=choice.finish_reason,
            usage=usage,
            model=chunk.model,
        )

    def _error(self, response: httpx.Response, model: str) -> Exception:
        code = error_code(response.content)
        if code in _MODEL_NOT_FOUND_CODES:
            return ModelNotFoundError(
                f"{provider_label(self._provider)} does not offer model {model!r} ({code})", provider=self._provider
            )
        return error_for_status(self._provider, response, what="chat completion", model=model, vendor_code=code)
