"""What the chain tells its `Telemetry` matches what it records, and the providers' health view."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from ideaforge_gateway.application.provider_health import ProviderHealth
from ideaforge_gateway.application.telemetry import NO_TELEMETRY, NULL_OBSERVER, fan_out
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import GatewayError, ProviderUnavailableError
from ideaforge_gateway.domain.models import ProviderName, Usage
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState
from ideaforge_gateway.domain.policies.fallback import RetryPolicy
from ideaforge_gateway.domain.ports.telemetry import AttemptReport, GenerationObserver, Telemetry
from tests.unit.test_fallback_properties import (
    FakeClock,
    build_world,
    order_st,
    outcomes_st,
    policy_st,
    providers_st,
    run,
)


@dataclass
class Recording(Telemetry, GenerationObserver):
    events: list[tuple[object, ...]] = field(default_factory=list)
    reports: list[AttemptReport] = field(default_factory=list)

    def generation(self, *, stream: bool) -> GenerationObserver:
        self.events.append(("generation", stream))
        return self

    def token_refresh(self, provider: ProviderName, outcome: str) -> None:
        self.events.append(("token", provider, outcome))

    def attempt(self, report: AttemptReport) -> None:
        self.reports.append(report)
        self.events.append(("attempt", report.provider, report.outcome))

    def fell_over(self, from_provider: ProviderName, to_provider: ProviderName, reason: str) -> None:
        self.events.append(("fell_over", from_provider, to_provider, reason))

    def first_content(self, provider: ProviderName, model: str, elapsed: float) -> None:
        self.events.append(("first_content", provider))

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
        self.events.append(("finished", provider if error is None else None, error.kind if error else None))


@settings(max_examples=200, deadline=None)
@given(providers_st, st.booleans(), order_st, outcomes_st, policy_st, st.booleans())
def test_the_telemetry_hears_every_attempt_each_fallover_and_one_end(
    configured: set[ProviderName],
    gateway_enabled: bool,
    order: list[ProviderName],
    outcomes: dict[ProviderName, list[str]],
    policy: RetryPolicy,
    stream: bool,
) -> None:
    recording = Recording()
    world = build_world(configured, gateway_enabled, order, outcomes, policy, telemetry=recording)
    try:
        attempts, error = asyncio.run(run(world, stream=stream))
    except GatewayError:  # nothing configured: no generation began
        assert recording.events == []
        return
    if not recording.events:  # refused while planning (no provider offers the model): no generation began
        assert attempts == [] and error is not None and error.kind == "configuration"
        return
    assert [(r.provider, r.outcome) for r in recording.reports] == attempts
    assert recording.events[0] == ("generation", stream)
    # A fallover between each two providers in a row, naming why the first one's turn ended.
    runs = [p for i, (p, _) in enumerate(attempts) if i == 0 or attempts[i - 1][0] != p]
    reasons = [attempts[i - 1][1] for i, (p, _) in enumerate(attempts) if i > 0 and attempts[i - 1][0] != p]
    fallovers = [e for e in recording.events if e[0] == "fell_over"]
    assert fallovers == [("fell_over", a, b, r) for a, b, r in zip(runs, runs[1:], reasons, strict=False)]
    ends = [e for e in recording.events if e[0] == "finished"]
    assert recording.events[-1] == ends[0] and len(ends) == 1
    if error is None:
        assert ends == [("finished", attempts[-1][0], None)]
        assert (("first_content", attempts[-1][0]) in recording.events) is stream
    else:
        assert ends == [("finished", None, error.kind)]
    for report in recording.reports:
        assert (report.retry_at is None) is (report.breaker is BreakerState.CLOSED)


def test_fan_out_skips_what_does_nothing() -> None:
    assert fan_out([]) is NO_TELEMETRY and fan_out([NO_TELEMETRY]) is NO_TELEMETRY
    recording = Recording()
    assert fan_out([NO_TELEMETRY, recording]) is recording
    assert NO_TELEMETRY.generation(stream=False) is NULL_OBSERVER
    both = fan_out([recording, Recording()])
    observer = both.generation(stream=True)
    observer.fell_over(ProviderName.AI_GATEWAY, ProviderName.OPENAI, "unavailable")
    assert recording.events == [
        ("generation", True),
        ("fell_over", ProviderName.AI_GATEWAY, ProviderName.OPENAI, "unavailable"),
    ]


GATEWAY = ProviderCredentials(ProviderName.AI_GATEWAY, SecretStr("svc-id"), SecretStr("svc-secret"))


def report(outcome: str, state: BreakerState, *, retry_at: float | None = None) -> AttemptReport:
    error = None if outcome in ("ok", "circuit_open") else ProviderUnavailableError("AI Gateway answered HTTP 503")
    return AttemptReport(ProviderName.AI_GATEWAY, "gpt-4o", GATEWAY, outcome, error, 0.0, 0.1, state, retry_at)


def test_health_shows_the_open_circuit_its_last_failure_and_when_it_is_retried() -> None:
    clock, wall = FakeClock(), FakeClock()
    wall.now = 1_700_000_000.0
    health = ProviderHealth(label_key=b"k" * 32, clock=clock, wall=wall)
    health.attempt(report("ok", BreakerState.CLOSED))
    assert health.snapshot() == []  # a healthy provider costs nothing and is not listed
    health.attempt(report("unavailable", BreakerState.OPEN, retry_at=30.0))
    [entry] = health.snapshot()
    assert entry.state is BreakerState.OPEN and entry.retry_at == wall.now + 30
    assert entry.last_failure == "AI Gateway answered HTTP 503" and entry.last_failure_kind == "unavailable"
    assert entry.credential == GATEWAY.label(b"k" * 32) and len(entry.credential) == 8
    assert "svc-secret" not in repr(entry)
    wall.now += 31
    assert health.snapshot()[0].state is BreakerState.HALF_OPEN  # the next request is the probe
    health.attempt(report("ok", BreakerState.CLOSED))
    [entry] = health.snapshot()
    assert entry.state is BreakerState.CLOSED and entry.retry_at is None and entry.last_outcome == "ok"
    assert entry.last_failure_kind == "unavailable"  # kept for the operator


def test_labels_are_stable_for_one_key_and_differ_between_keys() -> None:
    same = ProviderCredentials(ProviderName.AI_GATEWAY, SecretStr("svc-id"), SecretStr("svc-secret"))
    assert GATEWAY.label(b"a" * 32) == same.label(b"a" * 32) != GATEWAY.label(b"b" * 32)
    assert GATEWAY.label(b"a" * 32) != GATEWAY.fingerprint()[:8]
