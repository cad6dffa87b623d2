from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ideaforge_gateway.domain.config import TierModels
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import Tier
from ideaforge_gateway.domain.policies.model_selection import MAX_MODEL_ID_LENGTH, check_model_id, select_model
from ideaforge_gateway.entrypoints.http.presenters import header_value

TIERS = TierModels("m-fast", "m-standard", "m-premium")
names = st.text(alphabet="abcdefghij-0123456789", min_size=1, max_size=12)


@given(names, st.one_of(st.none(), st.sampled_from(Tier)), st.one_of(st.none(), names))
def test_an_explicit_model_wins(model: str, tier: Tier | None, user_default: str | None) -> None:
    assert select_model(TIERS, model=model, tier=tier, user_default_model=user_default) == model


@given(st.sampled_from(Tier))
def test_the_tier_picks_its_model(tier: Tier) -> None:
    assert select_model(TIERS, tier=tier) == TIERS.for_tier(tier)
    assert select_model(TIERS, model=tier.value) == TIERS.for_tier(tier)


@given(st.one_of(st.none(), st.sampled_from(Tier)), names)
def test_the_users_default_model_wins_over_the_tier(tier: Tier | None, user_default: str) -> None:
    assert select_model(TIERS, tier=tier, user_default_model=user_default) == user_default


def test_without_tier_the_default_model_then_standard() -> None:
    assert select_model(TIERS, default_model="gpt-4o") == "gpt-4o"
    assert select_model(TIERS) == "m-standard"


@given(st.text(max_size=300))
def test_a_model_id_passes_only_as_bounded_printable_ascii(model: str) -> None:
    fit = 0 < len(model) <= MAX_MODEL_ID_LENGTH and model.isascii() and model.isprintable() and " " not in model
    try:
        assert check_model_id(model) == model
    except InvalidRequestError as exc:
        assert not fit
        assert exc.param == "model" and exc.message.startswith("model:")
    else:
        assert fit


def test_a_stored_default_model_is_checked_under_its_own_name() -> None:
    tiers = TierModels("f", "s", "p")
    with pytest.raises(InvalidRequestError) as caught:
        select_model(tiers, user_default_model="gpt-4o\n")
    assert caught.value.param == "default_model"


@given(st.text(max_size=600))
def test_any_text_becomes_a_safe_header_value(text: str) -> None:
    value = header_value(text)
    assert value.isascii() and value.isprintable() and value == value.strip() and len(value) <= 512
    if text.isascii() and text.isprintable() and "%" not in text and text == text.strip() and len(text) <= 512:
        assert value == text
