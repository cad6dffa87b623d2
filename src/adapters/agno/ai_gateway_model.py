"""The seed's `AIGatewayModel`: an Agno model answered by the AI Gateway alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import ClassVar

from ideaforge_gateway.adapters.agno.port_model import ModelCall, PortBackedModel
from ideaforge_gateway.adapters.http.loop_bridge import LoopBridge
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.errors import ConfigurationError
from ideaforge_gateway.domain.models import ChatRequest, ChatResponse, ProviderName, StreamDelta, Tier
from ideaforge_gateway.domain.policies.model_selection import check_model_id, select_model
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider


@dataclass
class AIGatewayModel(PortBackedModel):
    """`Agent(model=AIGatewayModel(...))`: chat through the AI Gateway, sync or async, streamed
    or not, with tool calls and usage.

    `gateway` is this project's AI Gateway provider (`registry.get_ai_gateway_client(user_id)`),
    so token refresh, error mapping and the HTTP client are the project's; copies of the model
    share it. One attempt per call: for fallback to other providers, use `ProviderChainModel`,
    or list other models in Agno's `fallback_models` (this model may be one of them).
    """

    id: str = "gpt-4o"
    name: str = "AIGatewayModel"
    provider: str = "AI Gateway"
    gateway: LLMProvider | None = field(default=None, repr=False, compare=False)

    _shared_fields: ClassVar[tuple[str, ...]] = ("bridge", "gateway")

    @classmethod
    def for_tier(
        cls,
        registry: ProviderRegistry,
        tier: Tier | None = None,
        *,
        user_id: str | None = None,
        bridge: LoopBridge | None = None,
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
        return cls(id=model, gateway=registry.client(resolved), bridge=bridge)

    async def _complete(self, call: ModelCall) -> ChatResponse:
        return await self._gateway().chat(self._request(call))

    def _stream(self, call: ModelCall) -> AsyncIterator[StreamDelta]:
        return self._gateway().stream(self._request(call))

    def _gateway(self) -> LLMProvider:
        if self.gateway is None:
            raise ConfigurationError(
                "AIGatewayModel has no gateway: build it with AIGatewayModel.for_tier(registry, tier) "
                "or pass gateway=registry.get_ai_gateway_client()",
                provider=ProviderName.AI_GATEWAY,
            )
        return self.gateway

    def _request(self, call: ModelCall) -> ChatRequest:
        return ChatRequest(
            model=check_model_id(self.id),
            messages=call.messages,
            tools=call.tools,
            tool_choice=call.tool_choice,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stop=self.stop,
        )
