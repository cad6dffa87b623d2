"""The seed's `AIGatewayClient`: the AI Gateway as one `LLMProvider`, behind a `TokenSource`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from adapters.http.token_auth import TokenSourceAuth
from adapters.openai_compat.openai_chat_completions_provider import OpenAIChatCompletionsProvider
from domain.models import ChatRequest, ChatResponse, ModelInfo, ProviderName, StreamDelta
from domain.ports.llm_provider import LLMProvider
from domain.ports.token_source import TokenSource


@dataclass(frozen=True, slots=True)
class AIGatewayRoutes:
    """Where each model family goes. `openai` is the OpenAI-compatible `/v1` route every model
    takes unless its family has a route of its own."""

    openai: str
    anthropic: str | None = None
    gemini: str | None = None


class AIGatewayClient(LLMProvider):
    """List models and chat through the AI Gateway, with service-account tokens.

    `verify()` is the seed's check: obtain a token, then list models; both must succeed.
    """

    def __init__(self, http: httpx.AsyncClient, *, token_source: TokenSource, routes: AIGatewayRoutes) -> None:
        self._token_source = token_source
        self._routes = routes
        self._openai = OpenAIChatCompletionsProvider(
            http, base_url=routes.openai, auth=TokenSourceAuth(token_source), provider=ProviderName.AI_GATEWAY
        )

    def __repr__(self) -> str:
        return f"AIGatewayClient(route={self._routes.openai!r})"

    @property
    def name(self) -> ProviderName:
        return ProviderName.AI_GATEWAY

    @property
    def token_source(self) -> TokenSource:
        return self._token_source

    def _route(self, model: str) -> LLMProvider:
        return self._openai

    async def list_models(self) -> list[ModelInfo]:
        return await self._openai.list_models()

    async def verify(self) -> list[ModelInfo]:
        await self._token_source.token()
        return await self.list_models()

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await self._route(request.model).chat(request)

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamDelta]:
        return self._route(request.model).stream(request)
