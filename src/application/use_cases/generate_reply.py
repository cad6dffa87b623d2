from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from application.registry import ProviderRegistry, ResolvedProvider
from domain.errors import ConfigurationError, GatewayError
from domain.models import (
    Attempt,
    ChatMessage,
    ChatRequest,
    Generation,
    ProviderName,
    StreamDelta,
    Tier,
    ToolSpec,
)
from domain.policies.model_selection import select_model


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    messages: Sequence[ChatMessage]
    tier: Tier | None = None
    model: str | None = None
    user_id: str | None = None
    provider: ProviderName | None = None
    """Only this provider; None means the user's providers in priority order."""
    tools: Sequence[ToolSpec] = ()
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass(slots=True)
class StreamingGeneration:
    """A reply being streamed: who answers, and the deltas as they arrive."""

    provider: ProviderName
    model: str
    deltas: AsyncIterator[StreamDelta]


class GenerateReply:
    """Answer a conversation with the user's first usable provider.

    - The provider is the first usable one in priority order (AI Gateway first when enabled or
      configured by the user), or the one asked for.
    - The model is the explicit one, else the user's default model for that provider, else the
      tier's model (SPEC.md's tier variables).
    - Every result records its attempt: provider, model, outcome and latency.
    """

    def __init__(self, registry: ProviderRegistry) -> None:
        self._registry = registry

    def _choose(self, request: GenerateRequest) -> tuple[ResolvedProvider, ChatRequest]:
        if request.provider is not None:
            resolved = self._registry.require(request.provider, request.user_id)
        else:
            usable = self._registry.usable(request.user_id)
            if not usable:
                raise ConfigurationError(
                    "no provider is configured: set AI_GATEWAY_ENABLED=true with AI_GATEWAY_CLIENT_ID and "
                    "AI_GATEWAY_CLIENT_SECRET, or a vendor API key, or configure one in the user's settings"
                )
            resolved = usable[0]
        model = select_model(
            resolved.tier_models,
            model=request.model,
            tier=request.tier,
            user_default_model=resolved.user_default_model,
            default_model=resolved.default_model,
        )
        chat = ChatRequest(
            model=model,
            messages=request.messages,
            tools=request.tools,
            temperature=request.temperature,
            max_tokens=request.max_tokens,
        )
        return resolved, chat

    async def execute(self, request: GenerateRequest) -> Generation:
        resolved, chat = self._choose(request)
        started = time.perf_counter()
        try:
            response = await self._registry.client(resolved).chat(chat)
        except GatewayError as exc:
            exc.attempts = (_attempt(resolved.provider, chat.model, started, exc),)
            raise
        return Generation(response=response, attempts=(_attempt(resolved.provider, chat.model, started),))

    def stream(self, request: GenerateRequest) -> StreamingGeneration:
        resolved, chat = self._choose(request)
        client = self._registry.client(resolved)
        return StreamingGeneration(resolved.provider, chat.model, client.stream(chat))


def _attempt(provider: ProviderName, model: str, started: float, error: GatewayError | None = None) -> Attempt:
    latency_ms = (time.perf_counter() - started) * 1000
    if error is None:
        return Attempt(provider, model, "ok", latency_ms)
    return Attempt(provider, model, error.kind, latency_ms, error.message)
