"""An `LLMProvider` over any OpenAI-compatible `/v1` route (OpenAI itself, the AI Gateway).

Every call goes on the shared client's aiohttp session directly (`adapters/http/direct.py`): these
are the calls on every request's path.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping

import httpx
from pydantic import ValidationError
from yarl import URL

from ideaforge_gateway.adapters.http import direct
from ideaforge_gateway.adapters.http.client import SharedHttpClient
from ideaforge_gateway.adapters.http.errors import error_for_status, error_for_transport, malformed, provider_label
from ideaforge_gateway.adapters.http.sse import SSEDecodeError, SSEDecoder
from ideaforge_gateway.adapters.http.token_auth import RequestAuth
from ideaforge_gateway.adapters.openai_compat.wire import (
    WireChunk,
    WireCompletion,
    WireModelList,
    error_code,
    request_to_wire,
    tool_call_deltas_to_domain,
    tool_calls_to_domain,
)
from ideaforge_gateway.domain.errors import GatewayError, ModelNotFoundError, ProviderUnavailableError
from ideaforge_gateway.domain.models import ChatRequest, ChatResponse, ModelInfo, ProviderName, StreamDelta
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider

_MODEL_NOT_FOUND_CODES = frozenset({"model_not_found", "NotFoundError"})


class OpenAIChatCompletionsProvider(LLMProvider):
    """Chat completions, SSE streaming and the model list at `{base_url}/chat/completions` etc.

    `base_url` includes the version path (`https://api.openai.com/v1`); `auth` adds credentials
    to each request (a bearer token source, or a fixed API key).

    Stream events that arrive in one read are handed on together: consecutive text-only deltas
    are joined into one (a busy upstream's tokens then cost the gateway one event, not one each;
    an upstream that sends tokens apart still has them forwarded apart).
    """

    def __init__(
        self,
        http: SharedHttpClient,
        *,
        base_url: str,
        auth: RequestAuth,
        provider: ProviderName,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        # Parsed once, not on every request.
        self._chat_url = URL(f"{self._base_url}/chat/completions")
        self._models_url = URL(f"{self._base_url}/models")
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
            async with direct.send(self._http, "GET", self._models_url, auth=self._auth) as response:
                content = await response.read()
        except httpx.TransportError as exc:
            raise error_for_transport(self._provider, exc, what=what) from None
        if response.status != 200:
            raise error_for_status(
                self._provider, response.status, response.headers, what=what, vendor_code=error_code(content)
            )
        try:
            listing = WireModelList.model_validate_json(content)
        except ValidationError:
            raise malformed(self._provider, what="model list") from None
        return [ModelInfo(id=m.id, provider=self._provider, owned_by=m.owned_by) for m in listing.data]

    async def chat(self, request: ChatRequest) -> ChatResponse:
        body = _json(request_to_wire(request, stream=False))
        try:
            async with direct.send(self._http, "POST", self._chat_url, auth=self._auth, json_body=body) as response:
                content = await response.read()
        except httpx.TransportError as exc:
            raise error_for_transport(self._provider, exc, what="chat completion") from None
        if response.status != 200:
            raise self._error(response.status, response.headers, content, request.model)
        try:
            completion = WireCompletion.model_validate_json(content)
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
        body = _json(request_to_wire(request, stream=True))
        try:
            async with direct.send(
                self._http, "POST", self._chat_url, auth=self._auth, json_body=body, accept="text/event-stream"
            ) as response:
                if response.status != 200:
                    content = await response.read()
                    raise self._error(response.status, response.headers, content, request.model)
                if response.content_type != "text/event-stream":
                    raise malformed(self._provider, what="event stream (not text/event-stream)")
                decoder = SSEDecoder()
                async for chunk in response.content.iter_any():
                    deltas: list[StreamDelta] = []
                    for data in decoder.feed(chunk):
                        if data == "[DONE]":
                            for delta in _joined(deltas):
                                yield delta
                            return
                        parsed = self._delta(data) if data else None
                        if parsed is not None:
                            deltas.append(parsed)
                    for delta in _joined(deltas):
                        yield delta
        except httpx.TransportError as exc:
            raise error_for_transport(self._provider, exc, what="streamed chat completion") from None
        except SSEDecodeError:
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

    def _error(self, status: int, headers: Mapping[str, str], content: bytes, model: str) -> GatewayError:
        code = error_code(content)
        if code in _MODEL_NOT_FOUND_CODES:
            return ModelNotFoundError(
                f"{provider_label(self._provider)} does not offer model {model!r} ({code})", provider=self._provider
            )
        return error_for_status(self._provider, status, headers, what="chat completion", model=model, vendor_code=code)


def _json(body: object) -> bytes:
    """Encoded as httpx encodes `json=`: compact, UTF-8, no NaN."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _joined(deltas: list[StreamDelta]) -> list[StreamDelta]:
    """`deltas` with each run of text-only deltas of one model joined into one."""
    if len(deltas) < 2:
        return deltas
    out = [deltas[0]]
    for delta in deltas[1:]:
        last = out[-1]
        if _text_only(last) and _text_only(delta) and last.model == delta.model:
            out[-1] = StreamDelta(content=(last.content or "") + (delta.content or ""), model=last.model)
        else:
            out.append(delta)
    return out


def _text_only(delta: StreamDelta) -> bool:
    return not delta.tool_calls and delta.finish_reason is None and delta.usage is None
