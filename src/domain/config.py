"""The operator's configuration as the application sees it: which providers, in what order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.models import ProviderName, Tier

DEFAULT_PROVIDER_ORDER = (
    ProviderName.AI_GATEWAY,
    ProviderName.OPENAI,
    ProviderName.GEMINI,
    ProviderName.ANTHROPIC,
)


@dataclass(frozen=True, slots=True)
class TierModels:
    fast: str
    standard: str
    premium: str

    def for_tier(self, tier: Tier) -> str:
        return {Tier.FAST: self.fast, Tier.STANDARD: self.standard, Tier.PREMIUM: self.premium}[tier]


@dataclass(frozen=True, slots=True)
class ProviderDefaults:
    """What the environment says about one provider.

    `credentials` is None when the environment configures none; `enabled` is the operator's
    switch (for the AI Gateway, `AI_GATEWAY_ENABLED`). `default_model` applies when a request
    names neither a model nor a tier.
    """

    provider: ProviderName
    tier_models: TierModels
    credentials: ProviderCredentials | None = None
    enabled: bool = True
    default_model: str | None = None

    @property
    def usable(self) -> bool:
        return self.enabled and self.credentials is not None


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    providers: Mapping[ProviderName, ProviderDefaults]
    order: tuple[ProviderName, ...] = DEFAULT_PROVIDER_ORDER

    def defaults(self, provider: ProviderName) -> ProviderDefaults:
        return self.providers[provider]


@dataclass(frozen=True, slots=True)
class StreamBounds:
    """What an operator allows one streamed answer (IDEAFORGE_MAX_STREAM_SECONDS / _BYTES), and
    how often the caller's API token is checked again while it flows."""

    max_seconds: float = 900.0
    max_bytes: int = 32 * 1024 * 1024
    recheck_seconds: float = 5.0
    idle_timeout: float | None = None
    """The transport's read (idle) timeout, when known: no wait for the next event outlasts it,
    so a stream needs its own timer only once less than this remains of `max_seconds`."""
