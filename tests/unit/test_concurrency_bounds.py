"""The transport's concurrency bounds as pure counting (issue 18, case 3); the tenant case through
the real app is `tests/integration/test_tenant_bounds.py`."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from ideaforge_gateway.adapters.http.bounds import ConcurrencyBounds, bounds_exempt
from ideaforge_gateway.domain.errors import ProviderUnavailableError, RateLimitedError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.tenancy import acting_for, acting_user

OPENAI = ProviderName.OPENAI


def test_a_user_past_their_bound_is_refused_with_a_429_naming_the_setting() -> None:
    bounds = ConcurrencyBounds(per_user=2)
    with ExitStack() as held:
        for _ in range(2):
            held.enter_context(bounds.slot("alice", "a:443", OPENAI, "chat completion"))
        with pytest.raises(RateLimitedError) as refused:
            held.enter_context(bounds.slot("alice", "a:443", OPENAI, "chat completion"))
        with bounds.slot("bob", "a:443", OPENAI, "chat completion"):  # another user is not held up
            assert bounds.in_flight(user="bob") == 1
    assert "IDEAFORGE_USER_MAX_CONCURRENT_REQUESTS" in refused.value.message
    assert refused.value.retry_after is not None
    assert not refused.value.counts_against_provider  # our own bound opens no breaker
    assert bounds.in_flight(user="alice") == 0


def test_a_host_past_its_bound_is_refused_for_everyone_and_falls_over() -> None:
    bounds = ConcurrencyBounds(per_user=10, per_host=2)
    with bounds.slot("alice", "h:443", OPENAI, "chat completion"), bounds.slot("bob", "h:443", OPENAI, "x"):
        with pytest.raises(ProviderUnavailableError) as refused:
            bounds.slot("carol", "h:443", OPENAI, "chat completion").__enter__()
        with bounds.slot("carol", "other:443", OPENAI, "chat completion"):
            assert bounds.in_flight(host="other:443") == 1
    assert "IDEAFORGE_MAX_CONNECTIONS_PER_HOST" in refused.value.message
    assert refused.value.looks_down and not refused.value.counts_against_provider
    assert bounds.in_flight(host="h:443") == 0


def test_a_slot_is_given_back_when_the_block_fails() -> None:
    bounds = ConcurrencyBounds(per_user=1)
    with pytest.raises(RuntimeError), bounds.slot("alice", "h:443", OPENAI, "x"):
        raise RuntimeError("the request failed")
    with bounds.slot("alice", "h:443", OPENAI, "x"):
        assert bounds.in_flight(user="alice") == 1


def test_the_environments_own_use_has_no_user_bound() -> None:
    bounds = ConcurrencyBounds(per_user=1)
    with bounds.slot(None, "h:443", OPENAI, "x"), bounds.slot(None, "h:443", OPENAI, "x"):
        assert bounds.in_flight(host="h:443") == 0  # no per-host bound set: nothing counted


def test_acting_for_names_the_user_inside_the_block_only() -> None:
    assert acting_user() is None
    with acting_for("alice"):
        assert acting_user() == "alice"
    assert acting_user() is None


def test_a_request_made_for_one_holding_a_slot_takes_none() -> None:
    bounds = ConcurrencyBounds(per_user=1, per_host=1)
    with bounds.slot("alice", "h:443", OPENAI, "chat completion"):
        with bounds_exempt(), bounds.slot("alice", "token.example:443", OPENAI, "token request"):
            assert bounds.in_flight(user="alice") == 1
        with pytest.raises(RateLimitedError):
            bounds.slot("alice", "token.example:443", OPENAI, "token request").__enter__()
