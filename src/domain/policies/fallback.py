"""What a failed attempt means for the next one: retry here, try the next provider, or stop.

| error                              | retry this provider            | then            |
|------------------------------------|--------------------------------|-----------------|
| RateLimitedError                   | yes, after Retry-After if it is | next provider   |
|                                    | within the cap, else not at all |                 |
| ProviderUnavailableError (5xx,     | yes, full-jitter backoff,       | next provider   |
| timeout, reset, malformed)         | Retry-After honoured up to cap  |                 |
| ... no connection at all (refused) | only if no other provider is    | next provider   |
| or no answer within the attempt's  | left: it looks down             |                 |
| share of the deadline (hung)       |                                 |                 |
| AuthenticationError                | no                              | next provider   |
| PermissionDeniedError              | no                              | next provider   |
| ModelNotFoundError                 | no                              | next provider   |
| ConfigurationError, unreadable     | no                              | next provider   |
| InvalidRequestError                | no                              | stop: the same  |
|                                    |                                 | request fails   |
|                                    |                                 | everywhere      |
| StreamInterruptedError             | no                              | stop: content   |
|                                    |                                 | was delivered   |
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from ideaforge_gateway.domain.errors import GatewayError, ProviderUnavailableError, RateLimitedError


class Next(Enum):
    RETRY = "retry"
    NEXT_PROVIDER = "next_provider"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds on retries within one provider, and on the whole fallback."""

    attempts_per_provider: int = 2
    """Tries at one provider before moving on (1 = no retry)."""
    backoff_base: float = 0.25
    backoff_cap: float = 2.0
    max_retry_after: float = 5.0
    """A Retry-After longer than this is not waited for: the next provider is tried at once."""
    deadline: float = 60.0
    """Seconds for all attempts together, until an answer starts."""
    attempt_share: float = 0.5
    """While another provider is left, the most of the remaining deadline one attempt may use
    (1 = all of it): a hung provider cannot use up the time of a healthy one behind it."""


@dataclass(frozen=True, slots=True)
class Decision:
    next: Next
    wait: float = 0.0


def attempt_budget(remaining: float, policy: RetryPolicy, *, others_remain: bool) -> float:
    """Seconds the next attempt may take when `remaining` are left of the deadline.

    The trade-off: a non-streaming answer slower than its share (30 s of the default 60) is cut
    and asked of the next provider; operators who expect slower answers raise the deadline or
    the share. Streams need their share only until their first content.
    """
    return remaining * policy.attempt_share if others_remain else remaining


def decide(
    error: GatewayError,
    attempt: int,
    policy: RetryPolicy,
    rng: random.Random | None = None,
    *,
    others_remain: bool = True,
) -> Decision:
    """What to do after `error` ended try number `attempt` (1-based) at one provider;
    `others_remain` says whether another provider is left to try."""
    if not error.may_fall_over:
        return Decision(Next.STOP)
    if not isinstance(error, RateLimitedError | ProviderUnavailableError):
        return Decision(Next.NEXT_PROVIDER)
    if isinstance(error, ProviderUnavailableError) and error.looks_down and others_remain:
        return Decision(Next.NEXT_PROVIDER)
    if attempt >= policy.attempts_per_provider:
        return Decision(Next.NEXT_PROVIDER)
    retry_after = error.retry_after
    if retry_after is not None and retry_after > policy.max_retry_after:
        return Decision(Next.NEXT_PROVIDER)
    jitter = (rng or random).uniform(0, min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1)))
    return Decision(Next.RETRY, max(jitter, retry_after or 0.0))
