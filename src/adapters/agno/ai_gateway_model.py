"""The seed's `AIGatewayModel`: an Agno model answered by the AI Gateway alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import ClassVar

from ideaforge_gateway.adapters.agno.port_model import ModelCall, PortBackedModel
from ideaforge_gateway.adapters.http.loop_bridge import LoopBridge
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.errors import ConfigurationError, ProviderUnavailableError
from ideaforge_gateway.domain.models import ChatRequest, ChatResponse, ProviderName, StreamDelta, Tier
from ideaforge_gateway.domain.policies.model_selection import check_model_id, select_model
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider


@dataclass
class AIGatewayModel(PortBackedModel):
    """`Agent(model=AIGatewayModel(...))`: chat through the AI Gateway, sync or async, streamed
    or not, with tool calls and usage.

    The AI Gateway answering is `gateway` when given (a provider such as
    `registry.get_ai_gateway_client(user_id)`), else the one `registry` resolves for `user_id`
    at each call (the user's own credentials, else the environment's; an unknown user is an
    error), so token refresh, error mapping and the HTTP client are the project's. Copies of
    the model share `gateway`, `registry` and `bridge`. One attempt per call: for fallback to
    other providers, use `ProviderChainModel`, or list other models in Agno's
    `fallback_models` (this model may be one of them). `deadline` (seconds, None for none)
    bounds each call until its answer starts, token request included: past it, the call fails
    as unavailable (`ModelProviderError` 503 to Agno, so its retries and fallback apply).
    """

    id: str = "gpt-4o"
    name: str = "AIGatewayModel"
    provider: str = "AI Gateway"
    gateway: LLMProvider | None = field(default=None, repr=False, compare=False)
    registry: ProviderRegistry | None = field(default=None, repr=False, compare=False)
    user_id: str | None = None
    deadline: float | None = None

    _shared_fields: ClassVar[tuple[str, ...]] = ("bridge", "gateway", "registry")

    @classmethod
    def for_tier(
        cls,
        registry: ProviderRegistry,
        tier: Tier | None = None,
        *,
        user_id: str | None = None,
        bridge: LoopBridge | None = None,
        deadline: float | None = None,
    ) -> AIGatewayModel:
        """The model a user's agent of `tier` gets: the user's default model when set, else the
        tier's (`AI_GATEWAY_{FAST,STANDARD,PREMIUM}_MODEL`), else `AI_GATEWAY_DEFAULT_MODEL`.
        Raises `ConfigurationError` when the AI Gateway is not usable for this user."""
        resolved = registry.require(ProviderName.AI_GATEWAY, user_id)
        model = select_model(
            resolved.tier_models,
            tier=tier,
            user_default_model=resolved.user_default_model,
            default_model=resolved.default_model,
        )
        return cls(id=model, gateway=registry.client(resolved), bridge=bridge, deadline=deadline)

    async def _complete(self, call: ModelCall) -> ChatResponse:
        async with self._until_the_answer_starts():
            gateway = await self._gateway()
            return await gateway.chat(self._request(call))

    async def _stream(self, call: ModelCall) -> AsyncGenerator[StreamDelta, None]:
        async with AsyncExitStack() as opened:  # the gateway's stream, released however this ends
            async with self._until_the_answer_starts():
                gateway = await self._gateway()
                source = await opened.enter_async_context(gateway.stream(self._request(call)))
                first = await anext(source, None)
            if first is None:
                return
            yield first
            async for delta in source:
                yield delta

    @asynccontextmanager
    async def _until_the_answer_starts(self) -> AsyncIterator[None]:
        if self.deadline is None:
            yield
            return
        try:
            async with asyncio.timeout(self.deadline):
                yield
        except TimeoutError:
            raise ProviderUnavailableError(
                f"the AI Gateway did not answer within the deadline of {self.deadline:g} s"
                " (set by IDEAFORGE_DEADLINE_SECONDS)",
                provider=ProviderName.AI_GATEWAY,
                looks_down=True,
            ) from None

    async def _gateway(self) -> LLMProvider:
        """The provider answering this call (see the class docstring)."""
        if self.gateway is not None:
            return self.gateway
        registry = self._registry()
        await registry.load(self.user_id)  # the user's credentials, read off the event loop
        return registry.get_ai_gateway_client(self.user_id)

    def _registry(self) -> ProviderRegistry:
        if self.registry is None:
            raise ConfigurationError(
                "AIGatewayModel has no gateway: use ideaforge_gateway.AIGatewayModel (the environment's "
                "AI Gateway), or pass gateway= or registry=",
                provider=ProviderName.AI_GATEWAY,
            )
        return self.registry

    def _request(self, call: ModelCall) -> ChatRequest:
        return ChatRequest(check_model_id(self.id), call.messages, call.options)
