"""The Prometheus adapter on its own registry: bounded labels and the breaker gauge's transitions."""

from __future__ import annotations

from pydantic import SecretStr

from ideaforge_gateway.adapters.observability.prometheus_telemetry import MAX_MODELS, PrometheusTelemetry
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import ProviderUnavailableError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState
from ideaforge_gateway.domain.ports.telemetry import AttemptReport

KEY = ProviderCredentials(ProviderName.OPENAI, SecretStr("sk-canary-unit-5e1f"))


def attempt(model: str, outcome: str = "ok", state: BreakerState = BreakerState.CLOSED) -> AttemptReport:
    error = None if outcome == "ok" else ProviderUnavailableError("503")
    return AttemptReport(ProviderName.OPENAI, model, KEY, outcome, error, 0.0, 0.01, state, None)


def sample(metrics: PrometheusTelemetry, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_made_up_models_and_methods_cannot_grow_the_series_without_bound() -> None:
    metrics = PrometheusTelemetry(label_key=b"k" * 32)
    for n in range(MAX_MODELS + 50):
        metrics.attempt(attempt(f"model-{n}"))
    metrics.http_request("BREW", "unmatched", 405, "", 0.001)
    families = {f.name: f for f in metrics.registry.collect()}
    models = {s.labels["gen_ai_request_model"] for s in families["gen_ai_client_operation_duration_seconds"].samples}
    assert len(models) == MAX_MODELS + 1 and "_OTHER" in models
    labels = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai", "error_type": ""}
    assert (
        sample(metrics, "gen_ai_client_operation_duration_seconds_count", gen_ai_request_model="_OTHER", **labels) == 50
    )
    http = {"http_route": "unmatched", "http_response_status_code": "405", "gen_ai_provider_name": ""}
    assert sample(metrics, "http_server_request_duration_seconds_count", http_request_method="_OTHER", **http) == 1


def test_the_breaker_gauge_follows_the_circuit_and_counts_each_opening() -> None:
    metrics = PrometheusTelemetry(label_key=b"k" * 32)
    labels = {"gen_ai_provider_name": "openai", "credential": KEY.label(b"k" * 32)}
    metrics.attempt(attempt("gpt-4o"))
    assert metrics.registry.get_sample_value("ideaforge_circuit_breaker_state", labels) == 0
    for state in (BreakerState.OPEN, BreakerState.OPEN, BreakerState.CLOSED, BreakerState.OPEN):
        metrics.attempt(attempt("gpt-4o", "unavailable" if state is BreakerState.OPEN else "ok", state))
    assert metrics.registry.get_sample_value("ideaforge_circuit_breaker_state", labels) == 2
    assert metrics.registry.get_sample_value("ideaforge_circuit_breaker_opened_total", labels) == 2
    text = metrics.exposition().decode()
    assert "sk-canary-unit-5e1f" not in text and labels["credential"] in text
