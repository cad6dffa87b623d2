"""Telemetry that does nothing, and telemetry that tells several adapters at once.

The chain always has a `Telemetry`; with nothing configured it is `NO_TELEMETRY`, whose
observer is one shared object, so an unobserved request allocates nothing for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ProviderName, Usage
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState
from ideaforge_gateway.domain.ports.telemetry import AttemptReport, GenerationObserver, Telemetry

if TYPE_CHECKING:
    from ideaforge_gateway.application.breakers import StepBreaker


class NullObserver(GenerationObserver):
    """Hears everything, does nothing."""

    def attempt(self, report: AttemptReport) -> None:
        pass

    def fell_over(self, from_provider: ProviderName, to_provider: ProviderName, reason: str) -> None:
        pass

    def first_content(self, provider: ProviderName, model: str, elapsed: float) -> None:
        pass

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
        pass


class NullTelemetry(Telemetry):
    def generation(self, *, stream: bool) -> GenerationObserver:
        return NULL_OBSERVER

    def token_refresh(self, provider: ProviderName, outcome: str) -> None:
        pass


NULL_OBSERVER = NullObserver()
NO_TELEMETRY = NullTelemetry()


class FanOutObserver(GenerationObserver):
    def __init__(self, observers: Sequence[GenerationObserver]) -> None:
        self._observers = tuple(observers)

    def attempt(self, report: AttemptReport) -> None:
        for observer in self._observers:
            observer.attempt(report)

    def fell_over(self, from_provider: ProviderName, to_provider: ProviderName, reason: str) -> None:
        for observer in self._observers:
            observer.fell_over(from_provider, to_provider, reason)

    def first_content(self, provider: ProviderName, model: str, elapsed: float) -> None:
        for observer in self._observers:
            observer.first_content(provider, model, elapsed)

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
        for observer in self._observers:
            observer.finished(
                provider=provider, model=model, usage=usage, finish_reason=finish_reason, error=error, elapsed=elapsed
            )


class FanOutTelemetry(Telemetry):
    """Tells every one of `parts`, in order."""

    def __init__(self, parts: Sequence[Telemetry]) -> None:
        self._parts = tuple(parts)

    def generation(self, *, stream: bool) -> GenerationObserver:
        observers = [part.generation(stream=stream) for part in self._parts]
        observers = [o for o in observers if o is not NULL_OBSERVER]
        if not observers:
            return NULL_OBSERVER
        return observers[0] if len(observers) == 1 else FanOutObserver(observers)

    def token_refresh(self, provider: ProviderName, outcome: str) -> None:
        for part in self._parts:
            part.token_refresh(provider, outcome)


def fan_out(parts: Sequence[Telemetry]) -> Telemetry:
    """One `Telemetry` for `parts`: the part itself when there is one, `NO_TELEMETRY` for none."""
    parts = [p for p in parts if p is not NO_TELEMETRY]
    if not parts:
        return NO_TELEMETRY
    return parts[0] if len(parts) == 1 else FanOutTelemetry(parts)


def report_attempt(
    observer: GenerationObserver,
    credentials: ProviderCredentials,
    model: str,
    breaker: StepBreaker,
    outcome: str,
    error: GatewayError | None,
    started: float,
    duration: float,
) -> None:
    """Tell `observer` how one attempt ended, with its circuit (the credential's and the
    model's) as it now stands."""
    state = breaker.state
    observer.attempt(
        AttemptReport(
            provider=credentials.provider,
            model=model,
            credentials=credentials,
            outcome=outcome,
            error=error,
            started=started,
            duration=duration,
            breaker=state,
            retry_at=breaker.retry_at if state is not BreakerState.CLOSED else None,
            credential_breaker=breaker.credential_state,
        )
    )


def finish(
    observer: GenerationObserver,
    *,
    provider: ProviderName | None = None,
    model: str | None = None,
    usage: Usage | None = None,
    finish_reason: str | None = None,
    error: GatewayError | None = None,
    elapsed: float,
) -> None:
    """`observer.finished`, with what is not known left out."""
    observer.finished(
        provider=provider, model=model, usage=usage, finish_reason=finish_reason, error=error, elapsed=elapsed
    )
