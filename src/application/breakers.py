"""The fallback chain's circuit breakers, keyed by what a failure is evidence against.

A failure that says the credential's upstream cannot be reached or used (refused connection,
DNS, TLS, a timeout, a redirect, a rate limit) counts against the provider credential; a failure
a model's own request got (the upstream answered 5xx or an in-band error for it: the model is
broken or overloaded) counts against that model on that credential only, so one broken model
cannot open the circuit for the healthy models of the same credential (issue 13, case 9). The
rule of which is which is the errors' own `model_scoped` (set where the adapters build them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState, CircuitBreaker

if TYPE_CHECKING:
    from ideaforge_gateway.application.fallback_chain import Step

MAX_MODEL_BREAKERS = 4_096
"""Bounds the model breakers a process keeps: model names come from callers. When full, closed
ones (which hold at most a few failures) are dropped; when all are open, a new model's failures
are not counted (its requests still fail over as usual)."""

_SEVERITY = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class Breakers:
    """One circuit breaker per provider credential and, for the environment's shared credentials,
    per user; under each, one per model that has had a model-scoped failure. Shared by every
    request in the process that has that scope.

    A user's own credential is theirs alone, so its breaker is the credential's. The environment's
    credential serves every user; were its breaker shared, one user sending requests that fail
    upstream (or that get rate-limited) could open it for everyone (issue 18, case 3). So its
    failures are counted per user: a provider that is really down opens each user's breaker
    after `threshold` of that user's own failures, and nobody can open another user's.
    """

    def __init__(self, *, threshold: int = 5, cooldown: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._models: dict[str, CircuitBreaker] = {}

    def for_step(self, step: Step) -> StepBreaker:
        """The circuit `step` goes through: its credential's and its model's, as one."""
        key = step.resolved.credentials.fingerprint()
        if step.resolved.source == "environment":
            key = f"{key}/{step.user_id or ''}"
        model_key = f"{key}#{step.request.model}"
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                breaker = self._breakers[key] = self._new()
            return StepBreaker(breaker, self._models.get(model_key), self, model_key)

    def _model(self, key: str) -> CircuitBreaker | None:
        """The model breaker under `key`, made on its first model-scoped failure (see MAX_MODEL_BREAKERS)."""
        with self._lock:
            breaker = self._models.get(key)
            if breaker is None:
                if len(self._models) >= MAX_MODEL_BREAKERS:
                    self._models = {k: b for k, b in self._models.items() if b.state is not BreakerState.CLOSED}
                    if len(self._models) >= MAX_MODEL_BREAKERS:
                        return None
                breaker = self._models[key] = self._new()
            return breaker

    def _new(self) -> CircuitBreaker:
        return CircuitBreaker(threshold=self._threshold, cooldown=self._cooldown, clock=self._clock)


class StepBreaker:
    """A credential's breaker and one model's under it, seen as one circuit by the chain: a call
    goes through when both allow it; success closes both; each failure counts against the one
    it is evidence against, the other hearing of it as neutral (which releases a probe)."""

    __slots__ = ("_credential", "_key", "_model", "_owner")

    def __init__(self, credential: CircuitBreaker, model: CircuitBreaker | None, owner: Breakers, key: str) -> None:
        self._credential = credential
        self._model = model
        self._owner = owner
        self._key = key

    def _parts(self) -> tuple[CircuitBreaker, ...]:
        return (self._credential,) if self._model is None else (self._credential, self._model)

    @property
    def state(self) -> BreakerState:
        """The worse of the two: open if either is."""
        if self._model is None:  # the common case: no model of this credential has failed
            return self._credential.state
        return max(self._credential.state, self._model.state, key=_SEVERITY.__getitem__)

    @property
    def credential_state(self) -> BreakerState:
        """The credential's own circuit, whatever its model's."""
        return self._credential.state

    def retry_in(self) -> float:
        return max(b.retry_in() for b in self._parts())

    @property
    def retry_at(self) -> float | None:
        times = [t for t in (b.retry_at for b in self._parts()) if t is not None]
        return max(times) if times else None

    def allow(self) -> bool:
        if not self._credential.allow():
            return False
        if self._model is not None and not self._model.allow():
            self._credential.record_neutral()  # gives back the credential's probe, if this took it
            return False
        return True

    def record_success(self) -> None:
        self._credential.record_success()
        if self._model is not None:
            self._model.record_success()

    def record_neutral(self) -> None:
        for breaker in self._parts():
            breaker.record_neutral()

    def record_failure(self, *, model_scoped: bool = False) -> None:
        """A failure that counts against the provider: against the model if `model_scoped`,
        else against the credential."""
        if not model_scoped:
            self._credential.record_failure()
            if self._model is not None:
                self._model.record_neutral()
            return
        self._credential.record_neutral()
        if self._model is None:
            self._model = self._owner._model(self._key)
        if self._model is not None:
            self._model.record_failure()

    def record(self, error: GatewayError) -> None:
        """Count `error` where it belongs (`counts_against_provider`, `model_scoped`)."""
        if error.counts_against_provider:
            self.record_failure(model_scoped=error.model_scoped)
        else:
            self.record_neutral()
