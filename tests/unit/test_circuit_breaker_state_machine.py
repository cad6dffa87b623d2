"""The circuit breaker against a reference model, as a hypothesis state machine."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState, CircuitBreaker

THRESHOLD = 3
COOLDOWN = 10.0


class BreakerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.breaker = CircuitBreaker(threshold=THRESHOLD, cooldown=COOLDOWN, clock=lambda: self.now)
        # The reference model.
        self.failures = 0
        self.opened_at: float | None = None
        self.probe_out = False
        self.admitted = False

    def expected_state(self) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        return BreakerState.HALF_OPEN if self.now - self.opened_at >= COOLDOWN else BreakerState.OPEN

    @rule(seconds=st.floats(0, 2 * COOLDOWN))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds

    @rule()
    def a_call_asks_to_go(self) -> None:
        state = self.expected_state()
        expected = state is BreakerState.CLOSED or (state is BreakerState.HALF_OPEN and not self.probe_out)
        assert self.breaker.allow() == expected
        if expected:
            self.admitted = True
            if state is BreakerState.HALF_OPEN:
                self.probe_out = True

    @precondition(lambda self: self.admitted)
    @rule()
    def it_succeeds(self) -> None:
        self.breaker.record_success()
        self.failures, self.opened_at, self.probe_out, self.admitted = 0, None, False, False

    @precondition(lambda self: self.admitted)
    @rule()
    def it_fails(self) -> None:
        self.breaker.record_failure()
        if self.probe_out or self.opened_at is not None:
            self.opened_at, self.probe_out = self.now, False
        else:
            self.failures += 1
            if self.failures >= THRESHOLD:
                self.opened_at = self.now
        self.admitted = False

    @precondition(lambda self: self.admitted)
    @rule()
    def it_fails_for_a_reason_not_its_own(self) -> None:
        # A rejected key or an invalid request says nothing about the provider's health.
        self.breaker.record_neutral()
        self.probe_out, self.admitted = False, False

    @invariant()
    def state_matches_the_model(self) -> None:
        assert self.breaker.state is self.expected_state()

    @invariant()
    def an_open_circuit_lets_nothing_through_until_the_cooldown(self) -> None:
        if self.opened_at is not None and self.now - self.opened_at < COOLDOWN:
            assert self.breaker.state is BreakerState.OPEN


TestCircuitBreaker = BreakerMachine.TestCase


def test_client_errors_never_open_the_circuit() -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=1, clock=lambda: 0.0)
    for _ in range(10):
        assert breaker.allow()
        breaker.record_neutral()
    assert breaker.state is BreakerState.CLOSED
