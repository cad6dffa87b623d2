"""When a cached bearer token must be refreshed, and when it may no longer be used."""

from __future__ import annotations

from ideaforge_gateway.domain.models import AccessToken

MAX_LEEWAY_S = 60.0
"""Refresh at most this long before expiry..."""

ASSUMED_LIFETIME_S = 120.0
"""...and treat a token whose lifetime was not given as living this long: short, never eternal."""


def token_deadlines(expires_in: float | None, now: float) -> tuple[float, float]:
    """Return `(refresh_at, expires_at)` for a token issued at `now` (monotonic seconds).

    The leeway is min(60 s, half the lifetime), so even a short-lived token is used for half its
    life before a refresh. A missing, zero or negative lifetime counts as `ASSUMED_LIFETIME_S`.
    """
    lifetime = expires_in if expires_in is not None and expires_in > 0 else ASSUMED_LIFETIME_S
    leeway = min(MAX_LEEWAY_S, lifetime / 2)
    expires_at = now + lifetime
    return expires_at - leeway, expires_at


def is_fresh(token: AccessToken, now: float) -> bool:
    """Whether `token` may be returned without trying to refresh it."""
    return now < token.refresh_at


def is_usable(token: AccessToken, now: float) -> bool:
    """Whether `token` may still be sent, for example while a refresh is failing."""
    return now < token.expires_at
