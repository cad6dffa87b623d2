from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ideaforge_gateway.application.fallback_chain import ChainStream, FallbackChain, Step
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.errors import ConfigurationError, CredentialUnreadableError
from ideaforge_gateway.domain.models import (
    NO_OPTIONS,
    ChatMessage,
    ChatOptions,
    ChatRequest,
    Generation,
    ProviderName,
    Tier,
)
from ideaforge_gateway.domain.policies.model_families import serves_model
from ideaforge_gateway.domain.policies.model_selection import check_model_id, select_model


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    messages: Sequence[ChatMessage]
    tier: Tier | None = None
    model: str | None = None
    user_id: str | None = None
    provider: ProviderName | None = None
    """Only this provider; None means the user's providers in priority order."""
    options: ChatOptions = NO_OPTIONS
    """Every other parameter the caller sent: each provider's request carries it unchanged."""


class GenerateReply:
    """Answer a conversation through the user's provider chain.

    - The chain is the user's usable providers in priority order (AI Gateway first when enabled
      or configured by the user), or only the provider asked for.
    - Each provider gets its own model: the explicit one, else the user's default model for that
      provider, else its tier's model (SPEC.md's tier variables).
    - An explicit model skips vendors that cannot serve it (no `claude-*` at OpenAI); the AI
      Gateway is offered every model.
    - Fallback, retries, the deadline and the record of attempts are the chain's.
    """

    def __init__(self, registry: ProviderRegistry, chain: FallbackChain) -> None:
        self._registry = registry
        self._chain = chain

    def plan(self, request: GenerateRequest) -> list[Step]:
        if request.model:
            check_model_id(request.model)  # before anything else: no provider may see it
        if request.provider is not None:
            candidates = [self._registry.require(request.provider, request.user_id)]
        else:
            candidates = self._registry.usable(request.user_id)
            if not candidates and request.user_id is not None:
                unreadable = [
                    s for s in self._registry.stored(request.user_id).values() if s.enabled and s.needs_reconfiguration
                ]
                if unreadable:
                    names = ", ".join(s.provider.value for s in unreadable)
                    raise CredentialUnreadableError(
                        f"the stored credentials for {names} need reconfiguration: they cannot be decrypted "
                        "with the configured keys; configure them again"
                    )
            if not candidates:
                reasons = self._registry.idle_environment_providers()
                if request.user_id is not None:
                    stored = self._registry.stored(request.user_id).values()
                    disabled = ", ".join(s.provider.value for s in stored if not s.enabled)
                    if disabled:
                        reasons.insert(0, f"{disabled} disabled in this user's settings")
                if reasons:
                    raise ConfigurationError("no provider is usable: " + "; ".join(reasons))
            if not candidates:
                raise ConfigurationError(
                    "no provider is configured: set AI_GATEWAY_ENABLED=true with AI_GATEWAY_CLIENT_ID and "
                    "AI_GATEWAY_CLIENT_SECRET, or a vendor API key, or configure one in the user's settings"
                )
        explicit = request.model if request.model and request.model not in set(Tier) else None
        steps = []
        for resolved in candidates:
            if explicit and request.provider is None and not serves_model(resolved.provider, explicit):
                continue
            model = select_model(
                resolved.tier_models,
                model=request.model,
                tier=request.tier,
                user_default_model=resolved.user_default_model,
                default_model=resolved.default_model,
            )
            steps.append(Step(resolved, ChatRequest(model, request.messages, request.options), request.user_id))
        if not steps:
            raise ConfigurationError(f"no configured provider offers model {explicit!r}")
        return steps

    async def prepare(self, request: GenerateRequest) -> None:
        """Read the user's stored credentials off the event loop, if they are not cached: `execute`
        does it itself; an async caller of `stream` awaits it first."""
        await self._registry.load(request.user_id)

    async def execute(self, request: GenerateRequest) -> Generation:
        await self.prepare(request)
        return await self._chain.complete(self.plan(request))

    def stream(self, request: GenerateRequest) -> ChainStream:
        return self._chain.stream(self.plan(request))
