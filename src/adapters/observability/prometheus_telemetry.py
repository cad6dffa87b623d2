"""Prometheus metrics (`prometheus-client`), named after OpenTelemetry's semantic conventions.

- `http_server_request_duration_seconds` (histogram; `http_request_method`, `http_route`,
  `http_response_status_code`, `gen_ai_provider_name`): every HTTP request, a stream until its
  end; `_count` counts them; `gen_ai_provider_name` is who answered (empty when none did).
- `gen_ai_server_time_to_first_token_seconds` (histogram; operation, provider, model): streams,
  until their first content.
- `gen_ai_client_operation_duration_seconds` (histogram; operation, provider, model,
  `error_type`): one attempt at one provider.
- `gen_ai_client_token_usage` (histogram; operation, provider, model, `gen_ai_token_type` =
  `input` | `output`): tokens per answer; `_sum` is the total.
- `ideaforge_fallbacks_total` (counter; `from_provider`, `to_provider`, `reason`): the chain
  moved on to the next provider, because of `reason` (an error kind, or `circuit_open`).
- `ideaforge_circuit_breaker_state` (gauge; `gen_ai_provider_name`, `credential`): 0 closed,
  1 half-open, 2 open, as of the credential's last attempt; the worst over live workers. A
  model's own circuit on the credential is not in it (model names are unbounded): see
  `/ops/providers/health`.
- `ideaforge_circuit_breaker_opened_total` (counter; provider, `credential`): circuits opened.
- `ideaforge_token_refreshes_total` (counter; provider, `outcome` = `ok` | `failed` | `stale`):
  requests to a token endpoint.

GenAI names: `gen_ai.client.operation.duration`, `gen_ai.client.token.usage`,
`gen_ai.server.time_to_first_token`, with dots as
underscores and the unit as a suffix (OpenTelemetry's Prometheus mapping); buckets are the
conventions' advice. `credential` is `ProviderCredentials.label`: 8 hex digits keyed by a key
derived from the encryption key ring, never key material. An empty `error_type` means success.

Under `ideaforge serve --workers N` (N > 1) every worker writes to `PROMETHEUS_MULTIPROC_DIR`
(which `serve` makes) and `exposition()` reads them all: prometheus-client's multiprocess mode.
It costs about 4x as much per observation (an mmap write and a `getpid` per value), so one worker
keeps its metrics in memory. A JSON answer makes 4 observations (a stream 5): about 1 µs each in
memory, 4.5 µs in multiprocess mode (`bench/results/compare.md` has the request path's figures).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ProviderName, Usage
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState
from ideaforge_gateway.domain.ports.telemetry import AttemptReport, GenerationObserver, Telemetry

CONTENT_TYPE = CONTENT_TYPE_LATEST
# The semantic conventions' advice for gen_ai.*.duration, time to first token, and token usage.
_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
_TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_TOKEN_BUCKETS = tuple(float(4**n) for n in range(14))  # 1 ... 67,108,864
# http.server.request.duration's advice.
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_MODELS = 200
"""Distinct `gen_ai_request_model` values kept; later ones are `_OTHER` (OpenTelemetry's word for
it), so that clients naming made-up models cannot grow the series without bound."""
_STATE_VALUE = {BreakerState.CLOSED: 0.0, BreakerState.HALF_OPEN: 1.0, BreakerState.OPEN: 2.0}
_CHAT = "chat"


class _Children:
    """`metric.labels(*values)`, remembered: prometheus-client validates and locks on every call."""

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


class PrometheusTelemetry(Telemetry, GenerationObserver):
    """Counts and times what the chain reports; stateless per generation, so it is its own
    observer. `label_key` keys the credential labels (see module docstring)."""

    def __init__(self, *, label_key: bytes, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._label_key = label_key
        self._lock = threading.Lock()
        self._labels: dict[int, tuple[ProviderCredentials, str]] = {}
        self._states: dict[tuple[ProviderName, str], BreakerState] = {}
        self._models: set[str] = set()
        provider, model, operation = "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_operation_name"
        self._http = _Children(
            self._histogram(
                "http_server_request_duration_seconds",
                "Duration of HTTP requests served, in seconds.",
                ("http_request_method", "http_route", "http_response_status_code", provider),
                _HTTP_BUCKETS,
            )
        )
        self._ttft = _Children(
            self._histogram(
                "gen_ai_server_time_to_first_token_seconds",
                "Time until a streamed answer's first content, in seconds.",
                (operation, provider, model),
                _TTFT_BUCKETS,
            )
        )
        self._operation = _Children(
            self._histogram(
                "gen_ai_client_operation_duration_seconds",
                "Duration of one attempt at one provider, in seconds.",
                (operation, provider, model, "error_type"),
                _DURATION_BUCKETS,
            )
        )
        self._tokens = _Children(
            self._histogram(
                "gen_ai_client_token_usage",
                "Tokens used per answer, by type (input, output).",
                (operation, provider, model, "gen_ai_token_type"),
                _TOKEN_BUCKETS,
            )
        )
        self._fallbacks = _Children(
            Counter(
                "ideaforge_fallbacks",
                "Moves from one provider to the next, by reason.",
                ("from_provider", "to_provider", "reason"),
                registry=self.registry,
            )
        )
        self._breaker = _Children(
            Gauge(
                "ideaforge_circuit_breaker_state",
                "Circuit breaker per provider credential: 0 closed, 1 half-open, 2 open (the worst over workers).",
                (provider, "credential"),
                registry=self.registry,
                multiprocess_mode="livemax",
            )
        )
        self._opened = _Children(
            Counter(
                "ideaforge_circuit_breaker_opened",
                "Circuits opened, per provider credential.",
                (provider, "credential"),
                registry=self.registry,
            )
        )
        self._refreshes = _Children(
            Counter(
                "ideaforge_token_refreshes",
                "Token requests to a provider's token endpoint, by outcome (ok, failed, stale).",
                (provider, "outcome"),
                registry=self.registry,
            )
        )

    def _histogram(self, name: str, doc: str, labels: Sequence[str], buckets: Sequence[float]) -> Histogram:
        return Histogram(name, doc, labels, registry=self.registry, buckets=buckets)

    # Telemetry
    def generation(self, *, stream: bool) -> GenerationObserver:
        return self

    def token_refresh(self, provider: ProviderName, outcome: str) -> None:
        self._refreshes(provider.value, outcome).inc()

    # GenerationObserver
    def attempt(self, report: AttemptReport) -> None:
        if report.outcome != "circuit_open":
            error_type = "" if report.error is None and report.outcome == "ok" else report.outcome
            self._operation(_CHAT, report.provider.value, self._model(report.model), error_type).observe(
                report.duration
            )
        # Per credential: a model's own circuit (issue 13, case 9) shows in /ops/providers/health.
        self._breaker_seen(report.provider, report.credentials, report.credential_breaker or report.breaker)

    def fell_over(self, from_provider: ProviderName, to_provider: ProviderName, reason: str) -> None:
        self._fallbacks(from_provider.value, to_provider.value, reason).inc()

    def first_content(self, provider: ProviderName, model: str, elapsed: float) -> None:
        self._ttft(_CHAT, provider.value, self._model(model)).observe(elapsed)

    def finished(
        self,
        *,
        provider: ProviderName | None,
        model: str | None,
        usage: Usage | None,
        finish_reason: str | None,
        error: GatewayError | None,
        elapsed: float,
    ) -> None:
        if usage is not None and provider is not None and model is not None:
            model = self._model(model)
            self._tokens(_CHAT, provider.value, model, "input").observe(usage.prompt_tokens)
            self._tokens(_CHAT, provider.value, model, "output").observe(usage.completion_tokens)

    # HTTP
    def http_request(self, method: str, route: str, status: int, provider: str, duration: float) -> None:
        """One HTTP request; `route` is its template (`/api/providers/{provider}`), never the path."""
        self._http(method if method in _METHODS else "_OTHER", route, str(status), provider).observe(duration)

    def _model(self, model: str) -> str:
        if model in self._models:
            return model
        if len(self._models) >= MAX_MODELS:
            return "_OTHER"
        self._models.add(model)
        return model

    def _breaker_seen(self, provider: ProviderName, credentials: ProviderCredentials, state: BreakerState) -> None:
        """Set the gauge when this credential's circuit changed (or is first seen). Labels are
        remembered by object identity (the entry holds the object, so its id is not reused while
        remembered): a healthy request costs two dictionary look-ups, no hashing of secrets."""
        known = self._labels.get(id(credentials))
        if known is not None and known[0] is credentials:
            label = known[1]
        else:
            label = credentials.label(self._label_key)
            if len(self._labels) >= 1024:  # credentials objects come and go as users change theirs
                self._labels.clear()
            self._labels[id(credentials)] = (credentials, label)
        key = (provider, label)
        if self._states.get(key) is state:
            return  # unchanged: the common case, without the lock
        with self._lock:
            if self._states.get(key) is state:
                return
            self._states[key] = state
        self._breaker(provider.value, label).set(_STATE_VALUE[state])
        if state is BreakerState.OPEN:
            self._opened(provider.value, key[1]).inc()

    def exposition(self) -> bytes:
        """The text exposition format: every worker's metrics in multiprocess mode, else this
        registry's."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def mark_worker_gone() -> None:
    """A worker is stopping: its live gauges no longer count (multiprocess mode only)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
