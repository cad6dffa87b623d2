"""The token cache's expiry rule, as properties, with an injected clock."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from yarl import URL

from ideaforge_gateway.adapters.ai_gateway.oauth2_client_credentials_token_source import (
    OAuth2ClientCredentialsTokenSource,
)
from ideaforge_gateway.adapters.http.client import SharedHttpClient
from ideaforge_gateway.adapters.http.transport import HttpTransport, Reply
from ideaforge_gateway.domain.models import AccessToken
from ideaforge_gateway.domain.policies.token_expiry import (
    ASSUMED_LIFETIME_S,
    MAX_LEEWAY_S,
    is_fresh,
    is_usable,
    token_deadlines,
)

# Monotonic clocks count seconds since boot; lifetimes are whole-ish seconds, or absent/bogus.
lifetimes = st.one_of(
    st.none(), st.floats(min_value=-10, max_value=0), st.floats(min_value=0.5, max_value=86_400 * 30, allow_nan=False)
)
instants = st.floats(min_value=0, max_value=1e7, allow_nan=False)


@given(lifetimes, instants)
def test_refresh_comes_before_expiry_by_min_of_60s_and_half_the_lifetime(expires_in: float | None, now: float) -> None:
    refresh_at, expires_at = token_deadlines(expires_in, now)
    lifetime = expires_in if expires_in is not None and expires_in > 0 else ASSUMED_LIFETIME_S

    assert expires_at - now == lifetime or abs(expires_at - now - lifetime) < 1e-6 * max(1.0, now)
    leeway = expires_at - refresh_at
    assert abs(leeway - min(MAX_LEEWAY_S, lifetime / 2)) < 1e-6 * max(1.0, now)
    assert now < refresh_at < expires_at


@given(instants)
def test_a_token_without_a_lifetime_is_short_lived_never_eternal(now: float) -> None:
    _, expires_at = token_deadlines(None, now)
    assert expires_at - now <= ASSUMED_LIFETIME_S + 1e-6 * max(1.0, now)


@given(lifetimes, instants, st.floats(min_value=0, max_value=86_400 * 60, allow_nan=False))
def test_fresh_implies_usable(expires_in: float | None, issued: float, later: float) -> None:
    refresh_at, expires_at = token_deadlines(expires_in, issued)
    token = AccessToken(SecretStr("t"), expires_at=expires_at, refresh_at=refresh_at)
    if is_fresh(token, issued + later):
        assert is_usable(token, issued + later)


class _TokenEndpoint(HttpTransport):
    """A transport whose every answer is a fresh token: counts the requests, sends nothing."""

    def __init__(self, expires_in: float | None) -> None:
        super().__init__(SharedHttpClient())
        self.expires_in = expires_in
        self.requests = 0

    async def send(self, method: str, url: URL, **_: Any) -> Reply:
        self.requests += 1
        body: dict[str, object] = {"access_token": f"tok-{self.requests}", "token_type": "bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return Reply(200, {"content-type": "application/json"}, json.dumps(body).encode())


@settings(max_examples=60, deadline=None)
@given(
    expires_in=st.one_of(st.none(), st.integers(min_value=1, max_value=7200)),
    steps=st.lists(st.floats(min_value=0, max_value=5000, allow_nan=False), min_size=1, max_size=25),
)
def test_the_cache_fetches_exactly_when_the_cached_token_is_due(expires_in: int | None, steps: list[float]) -> None:
    clock = [1000.0]
    endpoint = _TokenEndpoint(expires_in)

    async def scenario() -> None:
        source = OAuth2ClientCredentialsTokenSource(
            endpoint,
            client_id=SecretStr("id"),
            client_secret=SecretStr("secret"),
            issuer_url="http://127.0.0.1:9",
            token_url="http://127.0.0.1:9/token",
            clock=lambda: clock[0],
        )
        current = await source.token()
        expected_requests = 1
        for step in steps:
            clock[0] += step
            due = not is_fresh(current, clock[0])
            token = await source.token()
            if due:
                expected_requests += 1
                assert token is not current
            else:
                assert token is current
            assert is_usable(token, clock[0])
            assert endpoint.requests == expected_requests
            current = token

    asyncio.run(scenario())
