"""What an operator asks first when answers come from the wrong vendor: which provider is
failing, how, and when the gateway will try it again (`ideaforge providers health`,
`GET /ops/providers/health`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ideaforge_gateway.application.telemetry import NullObserver
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState
from ideaforge_gateway.domain.ports.telemetry import AttemptReport, GenerationObserver, Telemetry


@dataclass(frozen=True, slots=True)
class ProviderHealthEntry:
    """One provider credential and model, as this process last saw it. Times are Unix seconds."""

    provider: ProviderName
    credential: str
    """`ProviderCredentials.label`: 8 hex digits, never key material."""
    model: str
    state: BreakerState
    last_outcome: str
    last_failure_kind: str | None = None
    last_failure: str | None = None
    last_failure_at: float | None = None
    retry_at: float | None = None
    """When an open circuit lets its next probe through; None while it is closed."""


class ProviderHealth(Telemetry, NullObserver):
    """Remembers, per provider credential and model, the circuit's state, the last failure and
    when the provider will be tried again, from the chain's attempt reports.

    - Only providers that have failed at least once in this process are listed; after a
      success the entry stays, closed, with its last failure.
    - The state is as of the last attempt; an open circuit whose `retry_at` has passed is
      reported as half-open (its next request is the probe).
    - Per process: under `serve --workers N` each worker has its own circuits and answers for
      itself (the metrics' `ideaforge_circuit_breaker_state` shows the worst over workers).
    """

    def __init__(
        self,
        *,
        label_key: bytes,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._label_key = label_key
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._entries: dict[tuple[ProviderName, str, str], ProviderHealthEntry] = {}
        self._failed: set[ProviderName] = set()

    def generation(self, *, stream: bool) -> GenerationObserver:
        return self

    def token_refresh(self, provider: ProviderName, outcome: str) -> None:
        pass

    def attempt(self, report: AttemptReport) -> None:
        if report.error is None and report.provider not in self._failed:
            return  # the common case: nothing to remember about a healthy provider
        label = report.credentials.label(self._label_key)
        key = (report.provider, label, report.model)
        retry_at = None
        if report.retry_at is not None and report.breaker is not BreakerState.CLOSED:
            retry_at = self._wall() + (report.retry_at - self._clock())
        with self._lock:
            entry = self._entries.get(key)
            if report.error is None and report.outcome != "circuit_open":
                if entry is not None:
                    self._entries[key] = replace(entry, state=report.breaker, last_outcome="ok", retry_at=None)
                return
            self._failed.add(report.provider)
            failure = entry or ProviderHealthEntry(report.provider, label, report.model, report.breaker, report.outcome)
            if report.error is not None:
                failure = replace(
                    failure,
                    last_failure_kind=report.outcome,
                    last_failure=report.error.message,
                    last_failure_at=self._wall(),
                )
            self._entries[key] = replace(failure, state=report.breaker, last_outcome=report.outcome, retry_at=retry_at)

    def snapshot(self) -> list[ProviderHealthEntry]:
        """Every entry, by provider then model, with open circuits past their `retry_at` shown
        half-open."""
        now = self._wall()
        with self._lock:
            entries = sorted(self._entries.values(), key=lambda e: (e.provider.value, e.credential, e.model))
        return [
            replace(e, state=BreakerState.HALF_OPEN)
            if e.state is BreakerState.OPEN and e.retry_at is not None and e.retry_at <= now
            else e
            for e in entries
        ]

    def label(self, credentials: ProviderCredentials) -> str:
        return credentials.label(self._label_key)
