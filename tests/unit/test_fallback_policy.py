from __future__ import annotations

import random

from ideaforge_gateway.domain.errors import InvalidRequestError, ProviderUnavailableError, RateLimitedError
from ideaforge_gateway.domain.policies.fallback import Next, RetryPolicy, attempt_budget, decide

POLICY = RetryPolicy(attempts_per_provider=3, max_retry_after=5.0)


def test_a_refused_connection_moves_on_at_once_while_another_provider_is_left() -> None:
    refused = ProviderUnavailableError("refused", looks_down=True)
    assert decide(refused, 1, POLICY).next is Next.NEXT_PROVIDER
    assert decide(refused, 1, POLICY, others_remain=False).next is Next.RETRY


def test_unavailability_is_retried_with_bounded_jittered_backoff() -> None:
    rng = random.Random(1)
    for attempt in (1, 2):
        decision = decide(ProviderUnavailableError("503"), attempt, POLICY, rng)
        assert decision.next is Next.RETRY and 0 <= decision.wait <= POLICY.backoff_cap
    assert decide(ProviderUnavailableError("503"), 3, POLICY).next is Next.NEXT_PROVIDER


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    assert decide(RateLimitedError("429", retry_after=2.0), 1, POLICY).wait >= 2.0
    assert decide(RateLimitedError("429", retry_after=60.0), 1, POLICY).next is Next.NEXT_PROVIDER


def test_an_invalid_request_stops() -> None:
    assert decide(InvalidRequestError("400"), 1, POLICY).next is Next.STOP


def test_an_attempt_gets_a_share_of_the_remaining_time_unless_it_is_the_last() -> None:
    policy = RetryPolicy(deadline=60.0, attempt_share=0.5)
    assert attempt_budget(60.0, policy, others_remain=True) == 30.0
    assert attempt_budget(30.0, policy, others_remain=False) == 30.0
    assert attempt_budget(60.0, RetryPolicy(attempt_share=1.0), others_remain=True) == 60.0
