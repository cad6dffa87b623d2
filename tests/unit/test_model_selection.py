from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ideaforge_gateway.domain.config import TierModels
from ideaforge_gateway.domain.models import Tier
from ideaforge_gateway.domain.policies.model_selection import select_model

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
