"""Warnings an operator can act on, from what the chain reports (logger `ideaforge.providers`).

- One warning per fallover: who failed, why, who is tried next, and what to check (a request
  that skips an open circuit: an info line; the circuit's opening was the warning).
- One warning per credential failure (401/403 from a provider or its token endpoint): which
  provider, which credential (by label), and which settings to check.
- One warning when a circuit opens: the provider is skipped until the next probe.
- Every line names the request (`request_id`), also sent to the client as `X-Request-Id`. In
  JSON logs the same facts are fields. Messages come from the domain's errors, which never hold a
  secret or an upstream body.

It also notes the answering provider and the number of attempts on the request's context, for
the access log line and the HTTP metrics.
"""

from __future__ import annotations

import logging
import time

from ideaforge_gateway.adapters.observability import request_context
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ProviderName, Usage
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState
from ideaforge_gateway.domain.ports.telemetry import AttemptReport, GenerationObserver, Telemetry

log = logging.getLogger("ideaforge.providers")

_CREDENTIALS = {
    ProviderName.AI_GATEWAY: "AI_GATEWAY_CLIENT_ID / AI_GATEWAY_CLIENT_SECRET (and AI_GATEWAY_AUTH_METHOD)",
    ProviderName.OPENAI: "OPENAI_API_KEY",
    ProviderName.ANTHROPIC: "ANTHROPIC_API_KEY",
    ProviderName.GEMINI: "GEMINI_API_KEY",
}
_BASE_URL = {
    ProviderName.AI_GATEWAY: "AI_GATEWAY_BASE_URL",
    ProviderName.OPENAI: "OPENAI_BASE_URL",
    ProviderName.ANTHROPIC: "ANTHROPIC_BASE_URL",
    ProviderName.GEMINI: "GEMINI_BASE_URL",
}
_CREDENTIAL_KINDS = frozenset({"authentication", "permission_denied"})


def what_to_check(provider: ProviderName, reason: str) -> str:
    """Where an operator should look after `provider` failed with error kind `reason`."""
    stored = f"or the user's stored credentials (`ideaforge providers verify {provider.value} --user NAME`)"
    if reason == "authentication":
        return f"the credentials: {_CREDENTIALS[provider]}, {stored}; a rotated secret must be configured again"
    if reason == "permission_denied":
        return f"that the credentials ({_CREDENTIALS[provider]}, {stored}) may use this model"
    if reason == "rate_limited":
        return f"{provider.value}'s rate limits and quota for these credentials"
    if reason == "model_not_found":
        return "the model name and the tier variables (e.g. OPENAI_FAST_MODEL)"
    if reason == "circuit_open":
        return f"`ideaforge providers health`: {provider.value} failed repeatedly and is skipped until its next probe"
    if reason in ("configuration", "needs_reconfiguration"):
        return f"{provider.value}'s configuration (`ideaforge providers list --user NAME`)"
    return f"{provider.value}'s status, and that {_BASE_URL[provider]} is reachable from the gateway"


class _GenerationLog(GenerationObserver):
    __slots__ = ("_context", "_label_key", "_last_error")

    def __init__(self, label_key: bytes) -> None:
        self._label_key = label_key
        self._context = request_context.current()
        self._last_error: GatewayError | None = None

    def attempt(self, report: AttemptReport) -> None:
        if self._context is not None and report.outcome != "circuit_open":
            self._context.attempts += 1
        if report.error is None:
            return
        self._last_error = report.error
        if report.outcome in _CREDENTIAL_KINDS:
            label = report.credentials.label(self._label_key)
            log.warning(
                "%s%s rejected credential %s (%s: %s); check %s",
                self._prefix,
                report.provider.value,
                label,
                report.outcome,
                report.error.message,
                what_to_check(report.provider, report.outcome),
                extra=self._fields(provider=report.provider.value, reason=report.outcome, credential=label),
            )
        if report.breaker is BreakerState.OPEN and report.error.counts_against_provider:
            label = report.credentials.label(self._label_key)
            wait = max(0.0, (report.retry_at or 0.0) - time.monotonic())
            log.warning(
                "%scircuit for %s credential %s is open after repeated failures (%s); next probe in %.0f s",
                self._prefix,
                report.provider.value,
                label,
                report.outcome,
                wait,
                extra=self._fields(provider=report.provider.value, reason=report.outcome, credential=label),
            )

    def fell_over(self, from_provider: ProviderName, to_provider: ProviderName, reason: str) -> None:
        detail = "its circuit is open"
        if self._last_error is not None and reason != "circuit_open":
            detail = self._last_error.message
        # Skipping an open circuit was announced when it opened: one warning, not one per request.
        log.log(
            logging.INFO if reason == "circuit_open" else logging.WARNING,
            "%sfalling over from %s to %s: %s (%s); check %s",
            self._prefix,
            from_provider.value,
            to_provider.value,
            reason,
            detail,
            what_to_check(from_provider, reason),
            extra=self._fields(provider=from_provider.value, to_provider=to_provider.value, reason=reason),
        )

    def first_content(self, provider: ProviderName, model: str, elapsed: float) -> None:
        if self._context is not None:
            self._context.provider = provider.value

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
        if self._context is not None and provider is not None:
            self._context.provider = provider.value

    @property
    def _request_id(self) -> str:
        return self._context.request_id if self._context is not None else "-"

    @property
    def _prefix(self) -> str:
        """`request R: ` in the server; nothing in the CLI, which serves one request."""
        return f"request {self._context.request_id}: " if self._context is not None else ""

    def _fields(self, **fields: str) -> dict[str, str]:
        return {"request_id": self._request_id, **fields}


class LoggingTelemetry(Telemetry):
    """`label_key` keys the credential labels in the lines (`ProviderCredentials.label`)."""

    def __init__(self, *, label_key: bytes) -> None:
        self._label_key = label_key

    def generation(self, *, stream: bool) -> GenerationObserver:
        return _GenerationLog(self._label_key)

    def token_refresh(self, provider: ProviderName, outcome: str) -> None:
        """Nothing: a failed refresh reaches the chain as the attempt's error (logged there), and
        the token source itself warns when it falls back on a cached token."""
