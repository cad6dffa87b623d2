"""`/metrics` after a scripted run through the real app: a success, a stream, a fallover on 503,
one on 429, the circuit opening and the open circuit skipped."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.observability.conftest import (
    CANARIES,
    OPERATOR_TOKEN,
    observed_container,
    samples,
    value,
)
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer

CHAT = "/v1/chat/completions"
ASK = {"model": "standard", "messages": [{"role": "user", "content": "hello"}]}


def chat(client: httpx.Client, token: str, **extra: object) -> httpx.Response:
    answer = client.post(CHAT, json={**ASK, **extra}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer


def scrape(client: httpx.Client) -> str:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


def test_a_scripted_run_shows_in_the_counters_and_histograms(
    tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    container = observed_container(tmp_path, gateway, openai, ideaforge_operator_token=OPERATOR_TOKEN)
    with LiveServer(container) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        token = live.create_user("ada")
        assert chat(client, token).headers["X-IdeaForge-Provider"] == "ai_gateway"
        with client.stream(
            "POST", CHAT, json={**ASK, "stream": True}, headers={"Authorization": f"Bearer {token}"}
        ) as s:
            assert s.status_code == 200
            assert b"[DONE]" in s.read()
        gateway.state.chat_failures = [503, 503]  # both tries fail: over to OpenAI
        assert chat(client, token).headers["X-IdeaForge-Provider"] == "openai"
        gateway.state.chat_failures, gateway.state.chat_retry_after = [429], "60"  # too long to wait: next provider
        assert chat(client, token).headers["X-IdeaForge-Provider"] == "openai"
        gateway.state.chat_retry_after = None
        gateway.state.chat_failures = [503, 503]  # the 4th and 5th failures in a row: the circuit opens
        assert chat(client, token).headers["X-IdeaForge-Provider"] == "openai"
        calls_before = gateway.state.chat_requests
        assert chat(client, token).headers["X-IdeaForge-Provider"] == "openai"  # skipped, not called
        assert gateway.state.chat_requests == calls_before
        text = scrape(client)

    http = "http_server_request_duration_seconds_count"
    assert value(text, http, http_route=CHAT, http_response_status_code="200", gen_ai_provider_name="ai_gateway") == 2
    assert value(text, http, http_route=CHAT, http_response_status_code="200", gen_ai_provider_name="openai") == 4
    assert value(text, "http_server_request_duration_seconds_bucket", http_route=CHAT, le="+Inf") == 6

    attempt = "gen_ai_client_operation_duration_seconds_count"
    assert value(text, attempt, gen_ai_provider_name="ai_gateway", error_type="") == 2
    assert value(text, attempt, gen_ai_provider_name="ai_gateway", error_type="unavailable") == 4
    assert value(text, attempt, gen_ai_provider_name="ai_gateway", error_type="rate_limited") == 1
    assert value(text, attempt, gen_ai_provider_name="openai", gen_ai_request_model="gpt-4o", error_type="") == 4

    fallbacks = "ideaforge_fallbacks_total"
    assert value(text, fallbacks, from_provider="ai_gateway", to_provider="openai", reason="unavailable") == 2
    assert value(text, fallbacks, from_provider="ai_gateway", to_provider="openai", reason="rate_limited") == 1
    assert value(text, fallbacks, from_provider="ai_gateway", to_provider="openai", reason="circuit_open") == 1

    # The failures were gpt-4o's own (5xx, a rate limit): its circuit opened, not the credential's,
    # whose gauge stays closed (a model's circuit is in /ops/providers/health; issue 13, case 9).
    assert value(text, "ideaforge_circuit_breaker_state", gen_ai_provider_name="ai_gateway") == 0
    assert value(text, "ideaforge_circuit_breaker_state", gen_ai_provider_name="openai") == 0
    assert value(text, "ideaforge_circuit_breaker_opened_total", gen_ai_provider_name="ai_gateway") == 0
    credentials = {
        labels["credential"] for name, labels, _ in samples(text) if name == "ideaforge_circuit_breaker_state"
    }
    assert len(credentials) == 2 and all(len(c) == 8 and int(c, 16) >= 0 for c in credentials)

    assert value(text, "gen_ai_server_time_to_first_token_seconds_count", gen_ai_provider_name="ai_gateway") == 1

    usage = "gen_ai_client_token_usage"
    assert value(text, f"{usage}_count", gen_ai_provider_name="openai", gen_ai_token_type="input") == 4
    assert value(text, f"{usage}_sum", gen_ai_provider_name="openai", gen_ai_token_type="input") == 4 * 11
    assert value(text, f"{usage}_sum", gen_ai_provider_name="openai", gen_ai_token_type="output") == 4 * 7
    assert value(text, f"{usage}_sum", gen_ai_provider_name="ai_gateway", gen_ai_token_type="input") == 2 * 11

    assert value(text, "ideaforge_token_refreshes_total", gen_ai_provider_name="ai_gateway", outcome="ok") == 1
    for canary in CANARIES:
        assert canary not in text


def test_a_rejected_secret_counts_as_a_failed_token_refresh(
    tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    container = observed_container(
        tmp_path, gateway, openai, ai_gateway_client_secret="rotated-away", ideaforge_metrics=True
    )
    with LiveServer(container) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        token = live.create_user("ada")
        assert chat(client, token).headers["X-IdeaForge-Provider"] == "openai"
        text = client.get("/metrics").text  # IDEAFORGE_METRICS=true and no operator token: open
    assert value(text, "ideaforge_token_refreshes_total", gen_ai_provider_name="ai_gateway", outcome="failed") == 1
    assert value(text, "ideaforge_fallbacks_total", from_provider="ai_gateway", reason="authentication") == 1


@pytest.mark.parametrize("enabled", [False, True])
def test_metrics_are_off_the_public_surface_unless_enabled_or_protected(
    tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway, enabled: bool
) -> None:
    settings = {"ideaforge_operator_token": OPERATOR_TOKEN} if enabled else {}
    container = observed_container(tmp_path, gateway, openai, **settings)
    with LiveServer(container) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        plain = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        health = client.get("/ops/providers/health")
        assert "/metrics" not in client.get("/openapi.json").text
    if not enabled:
        assert plain.status_code == wrong.status_code == health.status_code == 404
        assert container.metrics() is None  # nothing is collected either
    else:
        assert plain.status_code == wrong.status_code == health.status_code == 401
        assert OPERATOR_TOKEN not in plain.text + wrong.text
