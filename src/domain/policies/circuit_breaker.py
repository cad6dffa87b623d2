"""A circuit breaker per provider credential, as a small state machine with an injected clock.

closed --(threshold consecutive failures)--> open --(cooldown elapsed)--> half-open
half-open: one probe at a time; its success closes the circuit, its failure opens it again.
Only failures that say the provider is unhealthy count (`counts_against_provider`): a rejected
key or an invalid request is not the provider's fault and never opens the circuit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, *, threshold: int = 5, cooldown: float = 30.0, clock: Callable[[], float]) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self._cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def retry_in(self) -> float:
        """Seconds until an open circuit lets its next probe through (0 when it is not open)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._cooldown - (self._clock() - self._opened_at))

    @property
    def retry_at(self) -> float | None:
        """When an open circuit lets its next probe through (the clock's time), else None."""
        with self._lock:
            return None if self._opened_at is None else self._opened_at + self._cooldown

    def allow(self) -> bool:
        """Whether a call may go through now; in half-open, only the one probe may."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._probing:
                self._probing = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def record_failure(self) -> None:
        """A failure that counts against the provider."""
        with self._lock:
            if self._probing or self._opened_at is not None:
                self._opened_at = self._clock()
                self._probing = False
                return
            self._failures += 1
            if self._failures >= self._threshold:
                self._opened_at = self._clock()

    def record_neutral(self) -> None:
        """A call that ended without saying anything about the provider's health."""
        with self._lock:
            self._probing = False
