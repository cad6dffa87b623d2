"""An `LLMProvider` over Gemini's `generateContent` API (Google AI Studio, or the AI Gateway's route)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from httpx_sse import SSEError, aconnect_sse
from pydantic import ValidationError

from ideaforge_gateway.adapters.gemini.wire import (
    VendorError,
    WireErrorBody,
    WireModelList,
    WireResponse,
    error_to_vendor,
    finish_reason,
    model_id,
    model_path,
    parts_to_domain,
    request_to_wire,
    vendor_error,
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
    Usage,
)
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider

_PAGE_SIZE = 1000
_MAX_PAGES = 10
"""Bounds the model listing: a server that always hands out a page token must not loop us forever."""
_BAD_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED"})


class GeminiGenerateContentProvider(LLMProvider):
    """`models/{model}:generateContent`, `:streamGenerateContent?alt=sse` and the model list under
    `{base_url}/v1beta`.

    `base_url` is a bare origin (`https://generativelanguage.googleapis.com`) or a gateway's route
    prefix. `auth` adds the credentials to each request: `HeaderAuth("x-goog-api-key", "", key)`
    for Google, a bearer token source through the AI Gateway. The key never goes in the URL,
    where proxies and access logs would keep it.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        auth: httpx.Auth,
        provider: ProviderName = ProviderName.GEMINI,
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
        """Every page of the models that can `generateContent` (embedding models cannot chat), up
        to a bound. Gemini answers a bad key here with HTTP 400 `API_KEY_INVALID`."""
        what = "model listing"
        models: list[ModelInfo] = []
        params: dict[str, str | int] = {"pageSize": _PAGE_SIZE}
        for _ in range(_MAX_PAGES):
            try:
                response = await self._http.get(f"{self._base_url}/v1beta/models", params=params, auth=self._auth)
            except httpx.TransportError as exc:
                raise error_for_transport(self._provider, exc, what=what) from None
            if response.status_code != 200:
                raise self._error(response, what=what)
            try:
                page = WireModelList.model_validate_json(response.content)
            except ValidationError:
                raise malformed(self._provider, what="model list") from None
            models += [
                ModelInfo(id=model_id(m.name), provider=self._provider, owned_by="google")
                for m in page.models
                if m.supported_generation_methods is None or "generateContent" in m.supported_generation_methods
            ]
            if not page.next_page_token:
                break
            params = {"pageSize": _PAGE_SIZE, "pageToken": page.next_page_token}
        return models

    async def chat(self, request: ChatRequest) -> ChatResponse:
        what = "content generation"
        url, body = self._endpoint(request, "generateContent"), self._body(request)
        try:
            response = await self._http.post(url, json=body, auth=self._auth)
        except httpx.TransportError as exc:
            raise error_for_transport(self._provider, exc, what=what) from None
        if response.status_code != 200:
            raise self._error(response, what=what, model=request.model)
        try:
            answer = WireResponse.model_validate_json(response.content)
        except ValidationError:
            raise malformed(self._provider, what="response") from None
        usage = answer.usage_metadata.to_domain() if answer.usage_metadata else None
        model = answer.model_version or request.model
        if not answer.candidates:
            if answer.prompt_feedback is None or not answer.prompt_feedback.block_reason:
                raise malformed(self._provider, what="response (no candidates)")
            return ChatResponse(
                self._provider, model, None, finish_reason="content_filter", usage=usage, response_id=answer.response_id
            )
        candidate = answer.candidates[0]
        content, tool_calls = parts_to_domain(candidate.content.parts if candidate.content else [])
        return ChatResponse(
            provider=self._provider,
            model=model,
            content=content,
            tool_calls=tool_calls,
            finish_reason=finish_reason(candidate.finish_reason, called_tools=bool(tool_calls)),
            usage=usage,
            response_id=answer.response_id,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamDelta]:
        """Deltas as the chunks arrive. Gemini has no end marker: the stream is complete when a
        chunk carried a `finishReason` and the response then ended cleanly; the last delta carries
        the finish reason and the usage. An error chunk mid-way raises its domain error."""
        what = "streamed content generation"
        url, body = self._endpoint(request, "streamGenerateContent"), self._body(request)
        assembler = StreamAssembler(self._provider, request.model)
        try:
            async with aconnect_sse(
                self._http, "POST", url, params={"alt": "sse"}, json=body, auth=self._auth
            ) as source:
                response = source.response
                if response.status_code != 200:
                    await response.aread()
                    raise self._error(response, what=what, model=request.model)
                async for event in source.aiter_sse():
                    if not event.data:
                        continue
                    delta, error = assembler.feed(event.data)
                    if error is not None:
                        raise self._stream_error(error_to_vendor(error))
                    if delta is not None:
                        yield delta
        except httpx.TransportError as exc:
            raise error_for_transport(self._provider, exc, what=what) from None
        except SSEError:
            raise malformed(self._provider, what="event stream") from None
        if not assembler.finished:
            raise ProviderUnavailableError(
                f"{provider_label(self._provider)} stream ended before it was complete", provider=self._provider
            )
        yield assembler.final()

    def _endpoint(self, request: ChatRequest, method: str) -> str:
        path = model_path(request.model)
        if path is None:
            raise ModelNotFoundError(
                f"{provider_label(self._provider)} has no model {request.model!r}: not a Gemini model id",
                provider=self._provider,
            )
        return f"{self._base_url}/v1beta/{path}:{method}"

    def _body(self, request: ChatRequest) -> dict[str, object]:
        try:
            return request_to_wire(request)
        except UnmappableRequestError as exc:
            raise InvalidRequestError(
                f"{provider_label(self._provider)} cannot take this request: {exc}", provider=self._provider
            ) from None

    def _error(self, response: httpx.Response, *, what: str, model: str | None = None) -> GatewayError:
        vendor = vendor_error(response.content)
        label, status = provider_label(self._provider), response.status_code
        if vendor.reason in _BAD_KEY_REASONS or vendor.status == "UNAUTHENTICATED":
            return AuthenticationError(
                f"{label} rejected the API key for {what} (HTTP {status}, {vendor.reason or vendor.status}): "
                "check the API key",
                provider=self._provider,
            )
        if status == 429 and "retry-after" not in response.headers and vendor.retry_delay is not None:
            # Gemini says how long to wait in the body's RetryInfo rather than in a header.
            return RateLimitedError(
                f"{label} rate-limited {what} (HTTP 429, {vendor.status}), retry after {vendor.retry_delay:g} s",
                provider=self._provider,
                retry_after=vendor.retry_delay,
            )
        if vendor.status == "FAILED_PRECONDITION":
            # e.g. the free tier in an unsupported region: this account may not, another provider may.
            return PermissionDeniedError(
                f"{label} refused {what} (HTTP {status}, FAILED_PRECONDITION): check the account's plan and region",
                provider=self._provider,
            )
        return error_for_status(
            self._provider, response.status_code, response.headers, what=what, model=model, vendor_code=vendor.status
        )

    def _stream_error(self, vendor: VendorError) -> GatewayError:
        message = f"{provider_label(self._provider)} stream failed mid-way ({vendor.status or 'unknown'})"
        if vendor.status == "RESOURCE_EXHAUSTED":
            return RateLimitedError(message, provider=self._provider, retry_after=vendor.retry_delay)
        errors: dict[str | None, type[GatewayError]] = {
            "UNAUTHENTICATED": AuthenticationError,
            "PERMISSION_DENIED": PermissionDeniedError,
            "NOT_FOUND": ModelNotFoundError,
            "INVALID_ARGUMENT": InvalidRequestError,
        }
        return errors.get(vendor.status, ProviderUnavailableError)(message, provider=self._provider)


class StreamAssembler:
    """Turns Gemini's stream of whole-response chunks into domain deltas.

    Gemini sends no end marker: `finished` is true once a chunk carried a `finishReason` (or the
    prompt was blocked); the caller must also see the response end cleanly before `final()`.
    A function call arrives whole in one chunk, so each is one `ToolCallDelta`.
    """

    def __init__(self, provider: ProviderName, model: str) -> None:
        self._provider = provider
        self._model = model
        self._calls = 0
        self._reason: str | None = None
        self._usage: Usage | None = None

    @property
    def finished(self) -> bool:
        return self._reason is not None

    def feed(self, data: str) -> tuple[StreamDelta | None, WireErrorBody | None]:
        """The delta in one chunk (None when it has nothing to show), or the error it reports."""
        try:
            chunk = WireResponse.model_validate_json(data)
        except ValidationError:
            raise malformed(self._provider, what="stream chunk") from None
        if chunk.error is not None:
            return None, chunk.error
        self._model = chunk.model_version or self._model
        if chunk.usage_metadata is not None:
            self._usage = chunk.usage_metadata.to_domain()
        if not chunk.candidates:
            if chunk.prompt_feedback is not None and chunk.prompt_feedback.block_reason:
                self._reason = "content_filter"
            return None, None
        candidate = chunk.candidates[0]
        content, calls = parts_to_domain(candidate.content.parts if candidate.content else [], first_call=self._calls)
        deltas = tuple(
            ToolCallDelta(index=self._calls + i, id=c.id, name=c.name, arguments=c.arguments)
            for i, c in enumerate(calls)
        )
        self._calls += len(calls)
        if candidate.finish_reason is not None:
            self._reason = finish_reason(candidate.finish_reason, called_tools=self._calls > 0) or "stop"
        if not content and not deltas:
            return None, None
        return StreamDelta(content=content or None, tool_calls=deltas, model=self._model), None

    def final(self) -> StreamDelta:
        """The last delta: the finish reason and the usage of the whole answer."""
        return StreamDelta(finish_reason=self._reason, usage=self._usage, model=self._model)
