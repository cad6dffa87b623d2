"""Failed sign-ins are logged without the token and rate-limited per client address and per
token prefix; verification is rate-limited per user and per address (issue 18, case 8)."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from ideaforge_gateway.application.rate_limiter import WindowLimiter
from tests.integration.http.conftest import bearer
from tests.support.app import container_for
from tests.support.live_server import LiveServer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_limiter_allows_limit_events_per_window_per_key() -> None:
    clock = FakeClock()
    limiter = WindowLimiter(3, 60.0, clock=clock, max_keys=10)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    assert limiter.hit("a") == pytest.approx(60.0)
    assert limiter.hit("b") is None  # other keys are not affected
    clock.now += 30
    assert limiter.retry_after("a") == pytest.approx(30.0)
    assert limiter.retry_after("b", "a") == pytest.approx(30.0)  # the most limited key decides
    clock.now += 30
    assert limiter.hit("a") is None
    for i in range(50):
        limiter.record(f"flood-{i}")
    assert len(limiter._events) == 10  # bounded memory


def test_failed_sign_ins_are_logged_without_the_token_and_limited(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    container = container_for(tmp_path, ideaforge_sign_in_failures_per_minute=3)
    with LiveServer(container) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        token = server.create_user("alice")
        caplog.set_level(logging.WARNING, logger="ideaforge_gateway.auth")
        wrong = "ifg_stolen-or-guessed-canary"
        statuses = [http.get("/api/providers", headers=bearer(f"{wrong}{i}")).status_code for i in range(3)]
        assert statuses == [401, 401, 401]
        limited = http.get("/api/providers", headers=bearer(wrong))
        v1 = http.post("/v1/chat/completions", json={"model": "fast", "messages": []}, headers=bearer(wrong))
        # The address is limited now: even a valid token waits (a guesser cannot test one).
        valid_meanwhile = http.get("/api/providers", headers=bearer(token))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["kind"] == "rate_limited" and "failed sign-ins" in limited.json()["error"]
    assert v1.status_code == 429 and v1.json()["error"]["code"] == "rate_limited"  # /v1's own shape
    assert valid_meanwhile.status_code == 429
    failures = [r for r in caplog.records if r.name == "ideaforge_gateway.auth"]
    assert len(failures) == 3 and all(r.levelno == logging.WARNING for r in failures)
    assert all("127.0.0.1" in r.getMessage() and "canary" not in r.getMessage() for r in failures)


def test_verify_is_limited_per_user(tmp_path: Path) -> None:
    container = container_for(tmp_path, ideaforge_verify_per_minute=2, openai_api_key="sk-not-used")
    with LiveServer(container) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        alice, bob = server.create_user("alice"), server.create_user("bob")
        body = {"provider": "anthropic"}  # not configured: an answer without any upstream call
        first = [http.post("/api/providers/verify", json=body, headers=bearer(alice)).status_code for _ in range(2)]
        third = http.post("/api/providers/verify", json=body, headers=bearer(alice))
        # bob shares alice's address (loopback) here: the per-address limit applies to him too.
        bobs = http.post("/api/providers/verify", json=body, headers=bearer(bob))
    assert first == [200, 200]
    assert third.status_code == 429 and third.headers["Retry-After"] and third.json()["kind"] == "rate_limited"
    assert bobs.status_code == 429
