"""Which model a provider is asked for."""

from __future__ import annotations

from ideaforge_gateway.domain.config import TierModels
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import Tier

MAX_MODEL_ID_LENGTH = 256
"""Longer than any vendor's model id (the longest seen are ~60 characters, fine-tunes ~100)."""


def check_model_id(model: str, *, param: str = "model") -> str:
    """`model`, unchanged, if it can be a model id; else `InvalidRequestError` naming `param`.

    A model id is 1 to `MAX_MODEL_ID_LENGTH` printable ASCII characters with no space: it goes
    into vendors' URL paths (Gemini's `models/{id}:generateContent`) and into this product's
    response headers, so a control character, a line break or a non-ASCII letter would break an
    answer after the upstream had been called (and billed). The value is never echoed.
    """
    if not model:
        raise InvalidRequestError(f"{param}: must not be empty", param=param)
    if len(model) > MAX_MODEL_ID_LENGTH:
        raise InvalidRequestError(f"{param}: longer than {MAX_MODEL_ID_LENGTH} characters", param=param)
    if not (model.isascii() and model.isprintable()) or " " in model:
        raise InvalidRequestError(
            f"{param}: a model id is printable ASCII with no spaces or control characters (line breaks included)",
            param=param,
        )
    return model


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
    - Whatever is chosen passes `check_model_id` (an explicit model is named `model`, a stored
      default `default_model`), so nothing unfit for a URL or a header reaches a provider.
    """
    if model:
        try:
            tier = Tier(model)
        except ValueError:
            return check_model_id(model)
    if user_default_model:
        return check_model_id(user_default_model, param="default_model")
    if tier is not None:
        return check_model_id(tier_models.for_tier(tier))
    return check_model_id(default_model or tier_models.standard)
