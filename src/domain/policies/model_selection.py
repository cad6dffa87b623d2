"""Which model a provider is asked for."""

from __future__ import annotations

from ideaforge_gateway.domain.config import TierModels
from ideaforge_gateway.domain.models import Tier


def select_model(
    tier_models: TierModels,
    *,
    model: str | None = None,
    tier: Tier | None = None,
    user_default_model: str | None = None,
    default_model: str | None = None,
) -> str:
    """Resolve the concrete model id for one provider.

    - An explicit `model` wins; a tier name used as a model (`fast`) means that tier.
    - Else the user's default model for this provider, when set (the seed: "or the
      user-configured default model if set").
    - Else the tier's model; with no tier, the environment's default model, else `standard`'s.
    """
    if model:
        try:
            tier = Tier(model)
        except ValueError:
            return model
    if user_default_model:
        return user_default_model
    if tier is not None:
        return tier_models.for_tier(tier)
    return default_model or tier_models.standard
