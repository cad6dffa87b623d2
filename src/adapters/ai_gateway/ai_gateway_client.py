"""The seed's `AIGatewayClient`: the AI Gateway as one `LLMProvider`, behind a `TokenSource`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

from ideaforge_gateway.application.model_catalog import CatalogView
from ideaforge_gateway.domain.catalog import enrich
from ideaforge_gateway.domain.models import ChatRequest, ChatResponse, ModelInfo, ProviderName, StreamDelta
from ideaforge_gateway.domain.policies.model_families import azure_deployment, family_of
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider
from ideaforge_gateway.domain.ports.token_source import TokenSource


class AIGatewayClient(LLMProvider):
    """List models and chat through the AI Gateway, with service-account tokens.

    Every model goes through the gateway's OpenAI-compatible route unless its family (`claude-*`,
    `gemini-*`, `azure/*`) has a route of its own, spoken in that vendor's wire format: the same
    adapters as the vendors', composed with the gateway's token auth. Without an Azure route an
    `azure/` model goes the OpenAI-compatible way, named as given (as before that route existed).
    `verify()` is the seed's check: obtain a token, then list models; both must succeed. With
    `catalog` (the operator's instance), `list_models()` gives each model the catalog lists its
    price and classification; a catalog that does not answer leaves the plain list (and one
    warning in the log).
    """

    def __init__(
        self,
        *,
        token_source: TokenSource,
        openai_route: LLMProvider,
        anthropic_route: LLMProvider | None = None,
        gemini_route: LLMProvider | None = None,
        azure_route: LLMProvider | None = None,
        catalog: CatalogView | None = None,
    ) -> None:
        self._token_source = token_source
        self._catalog = catalog
        self._openai = openai_route
        self._family_routes = {
            family: route
            for family, route in ((ProviderName.ANTHROPIC, anthropic_route), (ProviderName.GEMINI, gemini_route))
            if route is not None
        }
        self._azure = azure_route

    def __repr__(self) -> str:
        return f"AIGatewayClient(openai_route={self._openai!r})"

    @property
    def name(self) -> ProviderName:
        return ProviderName.AI_GATEWAY

    @property
    def token_source(self) -> TokenSource:
        return self._token_source

    def route(self, model: str) -> LLMProvider:
        """The route a model takes: its family's own (`model_families.py`), else the OpenAI-compatible one."""
        if self._azure is not None and azure_deployment(model) is not None:
            return self._azure
        family = family_of(model)
        return self._family_routes.get(family, self._openai) if family is not None else self._openai

    async def list_models(self) -> list[ModelInfo]:
        if self._catalog is None:
            return await self._openai.list_models()
        # Side by side: the catalog is cached, and when it is not, its answer costs no extra wait.
        models, catalog = await asyncio.gather(self._openai.list_models(), self._catalog.current())
        return enrich(models, catalog) if catalog is not None else models

    async def verify(self) -> list[ModelInfo]:
        await self._token_source.token()
        return await self.list_models()

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await self.route(request.model).chat(request)

    def stream(self, request: ChatRequest) -> AbstractAsyncContextManager[AsyncIterator[StreamDelta]]:
        return self.route(request.model).stream(request)
