"""Gemini's `generateContent` API as a `WireFormat`: `models/{model}:generateContent`,
`:streamGenerateContent?alt=sse` and the model list under `/v1beta`. Spoken by Google AI Studio
and by the AI Gateway's Gemini route. Pure: no I/O (the shapes are in `wire.py`). The key never
goes in the URL, where proxies and access logs would keep it: it is the credential's header."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from pydantic import ValidationError

from ideaforge_gateway.adapters.gemini.wire import (
    VendorError,
    WireCandidate,
    WireModelList,
    WireResponse,
    error_to_vendor,
    finish_reason,
    model_id,
    model_path,
    parts_to_domain,
    request_to_wire,
    thoughts,
    vendor_error,
)
from ideaforge_gateway.adapters.http.errors import (
    error_for_status,
    incomplete_stream,
    malformed,
    provider_label,
    stream_failure,
)
from ideaforge_gateway.adapters.tool_arguments import refused_as_invalid
from ideaforge_gateway.adapters.wire_format import ModelPage, WireCall, WireFormat, json_body
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
    Choice,
    ModelInfo,
    ProviderName,
    StreamDelta,
    ToolCallDelta,
    Usage,
)

_PAGE_SIZE = "1000"
_BAD_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED"})
_STREAM = {"alt": "sse"}


@dataclass(frozen=True, slots=True)
class GeminiGenerateContentFormat(WireFormat):
    """Under a bare origin (`https://generativelanguage.googleapis.com`) or a gateway's route prefix."""

    provider: ProviderName = ProviderName.GEMINI
    chat_what: ClassVar[str] = "content generation"
    joins_text: ClassVar[bool] = False

    def chat_call(self, request: ChatRequest, *, stream: bool) -> WireCall:
        path = model_path(request.model)
        if path is None:
            raise ModelNotFoundError(
                f"{provider_label(self.provider)} has no model {request.model!r}: not a Gemini model id",
                provider=self.provider,
            )
        with refused_as_invalid(self.provider):
            body = json_body(request_to_wire(request))
        if stream:
            return WireCall(f"/v1beta/{path}:streamGenerateContent", body, params=_STREAM)
        return WireCall(f"/v1beta/{path}:generateContent", body)

    def chat_response(self, body: bytes, request: ChatRequest) -> ChatResponse:
        try:
            answer = WireResponse.model_validate_json(body)
        except ValidationError:
            raise malformed(self.provider, what="response") from None
        usage = answer.usage_metadata.to_domain() if answer.usage_metadata else None
        model = answer.model_version or request.model
        if not answer.candidates:
            if answer.prompt_feedback is None or not answer.prompt_feedback.block_reason:
                raise malformed(self.provider, what="response (no candidates)")
            return ChatResponse(
                self.provider, model, None, finish_reason="content_filter", usage=usage, response_id=answer.response_id
            )
        # Several candidates when `n` (candidateCount) asked for them: each is a choice.
        choices = tuple(_choice(i, c) for i, c in enumerate(answer.candidates))
        first = choices[0]
        return ChatResponse(
            provider=self.provider,
            model=model,
            content=first.content,
            tool_calls=first.tool_calls,
            finish_reason=first.finish_reason,
            usage=usage,
            response_id=answer.response_id,
            reasoning_content=first.reasoning_content,
            extra_content=first.extra_content,
            choices=choices if len(choices) > 1 else (),
        )

    def stream_assembler(self, request: ChatRequest) -> StreamAssembler:
        return StreamAssembler(self.provider, request.model)

    def models_call(self) -> WireCall:
        """Every page of the models that can `generateContent`; Gemini answers a bad key here
        with HTTP 400 `API_KEY_INVALID`."""
        return WireCall("/v1beta/models", params={"pageSize": _PAGE_SIZE})

    def models_page(self, body: bytes) -> ModelPage:
        try:
            page = WireModelList.model_validate_json(body)
        except ValidationError:
            raise malformed(self.provider, what="model list") from None
        models = [
            ModelInfo(id=model_id(m.name), provider=self.provider, owned_by="google")
            for m in page.models  # embedding models cannot chat
            if m.supported_generation_methods is None or "generateContent" in m.supported_generation_methods
        ]
        if not page.next_page_token:
            return ModelPage(models)
        return ModelPage(
            models, WireCall("/v1beta/models", params={"pageSize": _PAGE_SIZE, "pageToken": page.next_page_token})
        )

    def error(
        self, status: int, headers: Mapping[str, str], body: bytes, *, what: str, model: str | None
    ) -> GatewayError:
        vendor = vendor_error(body)
        label = provider_label(self.provider)
        if vendor.reason in _BAD_KEY_REASONS or vendor.status == "UNAUTHENTICATED":
            return AuthenticationError(
                f"{label} rejected the API key for {what} (HTTP {status}, {vendor.reason or vendor.status}): "
                "check the API key",
                provider=self.provider,
            )
        if status == 429 and "retry-after" not in headers and vendor.retry_delay is not None:
            # Gemini says how long to wait in the body's RetryInfo rather than in a header.
            limited = RateLimitedError(
                f"{label} rate-limited {what} (HTTP 429, {vendor.status}), retry after {vendor.retry_delay:g} s",
                provider=self.provider,
                retry_after=vendor.retry_delay,
            )
            limited.model_scoped = True  # Gemini's limits are per model and project
            return limited
        if vendor.status == "FAILED_PRECONDITION":
            # e.g. the free tier in an unsupported region: this account may not, another provider may.
            return PermissionDeniedError(
                f"{label} refused {what} (HTTP {status}, FAILED_PRECONDITION): check the account's plan and region",
                provider=self.provider,
            )
        return error_for_status(self.provider, status, headers, what=what, model=model, vendor_code=vendor.status)


_STREAM_ERRORS: dict[str, type[GatewayError]] = {
    "RESOURCE_EXHAUSTED": RateLimitedError,
    "UNAUTHENTICATED": AuthenticationError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "NOT_FOUND": ModelNotFoundError,
    "INVALID_ARGUMENT": InvalidRequestError,
}


def stream_error(provider: ProviderName, vendor: VendorError) -> GatewayError:
    """The domain error for an error chunk that arrives after the stream has begun."""
    return stream_failure(provider, vendor.status, _STREAM_ERRORS, retry_after=vendor.retry_delay)


class StreamAssembler:
    """Turns Gemini's stream of whole-response chunks into domain deltas.

    Gemini sends no end marker, so `done` stays false and every chunk is read: the answer is
    complete when a chunk carried a `finishReason` for every candidate (or the prompt was
    blocked) and the body then ended cleanly; `at_end()` then gives the last delta of each
    candidate (a choice, by its `index`, when `n` asked for several), with its finish reason,
    the first with the usage of the whole answer. An error chunk raises its domain error. A
    function call arrives whole in one chunk, so each is one `ToolCallDelta`.
    """

    done = False

    def __init__(self, provider: ProviderName, model: str) -> None:
        self.provider = provider
        self._model = model
        self._calls: dict[int, int] = {0: 0}  # per candidate
        self._reasons: dict[int, str] = {}
        self._reason: str | None = None  # the blocked prompt's
        self._usage: Usage | None = None

    @property
    def finished(self) -> bool:
        """Whether chunks said the answer is complete: every candidate finished, or none came."""
        return self._reason is not None or (bool(self._reasons) and self._reasons.keys() >= self._calls.keys())

    def feed(self, data: str) -> list[StreamDelta]:
        try:
            chunk = WireResponse.model_validate_json(data)
        except ValidationError:
            raise malformed(self.provider, what="stream chunk") from None
        if chunk.error is not None:
            raise stream_error(self.provider, error_to_vendor(chunk.error))
        self._model = chunk.model_version or self._model
        if chunk.usage_metadata is not None:
            self._usage = chunk.usage_metadata.to_domain()
        if not chunk.candidates:
            if chunk.prompt_feedback is not None and chunk.prompt_feedback.block_reason:
                self._reason = "content_filter"
            return []
        out: list[StreamDelta] = []
        for position, candidate in enumerate(chunk.candidates):  # several when `n` asked for them
            index = candidate.index if candidate.index is not None else position
            before = self._calls.get(index, 0)
            parts = candidate.content.parts if candidate.content else []
            content, calls = parts_to_domain(parts)
            reasoning, extra_content = thoughts(parts)
            deltas = tuple(
                ToolCallDelta(
                    index=before + i, id=c.id, name=c.name, arguments=c.arguments, extra_content=c.extra_content
                )
                for i, c in enumerate(calls)
            )
            self._calls[index] = before + len(calls)
            if candidate.finish_reason is not None:
                reason = finish_reason(candidate.finish_reason, called_tools=self._calls[index] > 0)
                self._reasons[index] = reason or "stop"
            if content or deltas or reasoning is not None or extra_content is not None:
                out.append(
                    StreamDelta(
                        content=content or None,
                        tool_calls=deltas,
                        model=self._model,
                        reasoning_content=reasoning,
                        extra_content=extra_content,
                        index=index,
                    )
                )
        return out

    def at_end(self) -> list[StreamDelta]:
        if not self.finished:
            raise incomplete_stream(self.provider)
        if self._reason is not None:
            return [StreamDelta(finish_reason=self._reason, usage=self._usage, model=self._model)]
        return [
            StreamDelta(finish_reason=reason, usage=self._usage if n == 0 else None, model=self._model, index=index)
            for n, (index, reason) in enumerate(sorted(self._reasons.items()))
        ]


def _choice(position: int, candidate: WireCandidate) -> Choice:
    parts = candidate.content.parts if candidate.content else []
    content, tool_calls = parts_to_domain(parts)
    reasoning, extra_content = thoughts(parts)
    return Choice(
        index=candidate.index if candidate.index is not None else position,
        content=content,
        tool_calls=tool_calls,
        finish_reason=finish_reason(candidate.finish_reason, called_tools=bool(tool_calls)),
        reasoning_content=reasoning,
        extra_content=extra_content,
    )
