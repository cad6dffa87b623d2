"""What a wire format is: a pure translation between the domain and one vendor's HTTP API.

A wire format (`openai_compat`, `anthropic`, `gemini`) says which request to send for a chat or
a model listing, what an answer means, how a stream's events add up, and which domain error a
vendor's error answer is. It does no I/O, so each is unit-tested on bytes. Who serves a format
(a vendor, the AI Gateway's family routes) is a provider: a base URL, a credential and a wire
format, run over the transport by `HttpLLMProvider` (pydantic-ai's models / providers axes,
LiteLLM's transform_request / transform_response over one HTTP handler).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ChatRequest, ChatResponse, ModelInfo, ProviderName, StreamDelta


@dataclass(frozen=True, slots=True)
class WireCall:
    """One HTTP request a format asks for: `path` is appended to the provider's base URL."""

    path: str
    body: bytes | None = None
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelPage:
    """One page of a model listing, and the call for the next page, if there is one."""

    models: Sequence[ModelInfo]
    next: WireCall | None = None


class StreamAssembler(Protocol):
    """Turns one answer's stream of event data into domain deltas.

    `feed` raises the domain error an error event reports, or a malformed-answer error.
    `done` becomes true at the vendor's end marker: nothing more is read after it. `at_end()`
    is called when the body ended cleanly before that (or, for a format without an end marker,
    at all): it returns the last deltas, or raises because the stream is incomplete.
    """

    @property
    def done(self) -> bool: ...

    def feed(self, data: str) -> list[StreamDelta]: ...

    def at_end(self) -> list[StreamDelta]: ...


class WireFormat(Protocol):
    """One vendor's API, as spoken for `provider` (the vendor, or the AI Gateway's route).

    `chat_what` names a chat call in messages ("chat completion"). `joins_text` says whether
    text-only deltas that arrive in one read may be joined into one (the OpenAI-compatible hot
    path: a busy upstream's tokens then cost one event downstream); other formats hand each
    event's text on as it came. Every method is pure; the
    `*_call` methods raise `InvalidRequestError` (or `ModelNotFoundError`) for a request the
    format cannot express, before anything is sent.
    """

    @property
    def provider(self) -> ProviderName: ...

    @property
    def chat_what(self) -> str: ...

    @property
    def joins_text(self) -> bool: ...

    def chat_call(self, request: ChatRequest, *, stream: bool) -> WireCall: ...

    def chat_response(self, body: bytes, request: ChatRequest) -> ChatResponse: ...

    def stream_assembler(self, request: ChatRequest) -> StreamAssembler: ...

    def models_call(self) -> WireCall: ...

    def models_page(self, body: bytes) -> ModelPage: ...

    def error(
        self, status: int, headers: Mapping[str, str], body: bytes, *, what: str, model: str | None
    ) -> GatewayError:
        """The domain error for an answer with a status other than 200."""
        ...


def json_body(body: object) -> bytes:
    """A request body as every format sends it: compact JSON in UTF-8, no NaN (as httpx's `json=`)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
