from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from ideaforge_gateway.domain.models import ChatRequest, ChatResponse, ModelInfo, ProviderName, StreamDelta


@runtime_checkable
class LLMProvider(Protocol):
    """One provider's chat models, behind one set of credentials.

    - `chat` returns the whole answer. `stream` is an async context manager:
      `async with provider.stream(request) as deltas:` sends the request (a failure before the
      answer begins, such as an error status, is raised on entering), then `deltas` yields the
      answer as it arrives; leaving the block, however it is left, releases the connection. A
      stream that ends without the provider's own end marker raises `ProviderUnavailableError`;
      it never looks like a clean finish.
    - Every failure is one of the domain's `GatewayError` types naming this provider; a vendor's
      response body is never echoed in a message.
    - Makes one attempt per call: retries, backoff and fallback are the caller's business (an
      authentication retry after a revoked token is part of the one attempt).
    - Never follows a redirect with credentials, never logs a secret.
    """

    @property
    def name(self) -> ProviderName: ...

    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    def stream(self, request: ChatRequest) -> AbstractAsyncContextManager[AsyncIterator[StreamDelta]]: ...

    async def list_models(self) -> list[ModelInfo]: ...
