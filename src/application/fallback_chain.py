"""The fallback chain: try the user's providers in order, retrying within bounds, until one
answers. The decisions are `domain.policies.fallback`'s; this module does the waiting, the
timing, the circuit breakers and the bookkeeping."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TypeVar

from ideaforge_gateway.application.breakers import Breakers, StepBreaker
from ideaforge_gateway.application.registry import ProviderRegistry, ResolvedProvider
from ideaforge_gateway.application.telemetry import NO_TELEMETRY, finish, report_attempt
from ideaforge_gateway.domain.errors import (
    GatewayError,
    ProviderUnavailableError,
    RateLimitedError,
    StreamInterruptedError,
    UnsupportedParameterError,
)
from ideaforge_gateway.domain.models import Attempt, ChatRequest, ChatResponse, Generation, ProviderName, StreamDelta
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState
from ideaforge_gateway.domain.policies.fallback import Next, RetryPolicy, attempt_budget, decide
from ideaforge_gateway.domain.ports.telemetry import GenerationObserver, Telemetry
from ideaforge_gateway.domain.tenancy import acting_for

CIRCUIT_OPEN = "circuit_open"
T = TypeVar("T")
__all__ = ["CIRCUIT_OPEN", "Breakers", "ChainStream", "FallbackChain", "ProvidersExhaustedError", "Step"]


@dataclass(frozen=True, slots=True)
class Step:
    """One provider to try, with the request as that provider should receive it, for `user_id`
    (None: the environment's own use, e.g. the CLI without `--user`)."""

    resolved: ResolvedProvider
    request: ChatRequest
    user_id: str | None = None


class ProvidersExhaustedError(ProviderUnavailableError):
    """Every provider in the chain failed, was skipped, or (`deadline_passed`) the deadline passed."""

    def __init__(self, message: str, *, deadline_passed: bool = False) -> None:
        super().__init__(message)
        self.deadline_passed = deadline_passed


@dataclass(slots=True)
class ChainStream:
    """A streamed answer. `provider`, `model` and `attempts` are known once content has begun;
    iterating `deltas` drives the fallback."""

    deltas: AsyncGenerator[StreamDelta, None]
    provider: ProviderName | None = None
    model: str | None = None
    attempts: list[Attempt] = field(default_factory=list)


class FallbackChain:
    """Answer with the first provider that can.

    - Providers are tried in the given order; within one, retryable failures (rate limits,
      unavailability) are retried up to `policy.attempts_per_provider` times with full-jitter
      backoff, Retry-After honoured up to `policy.max_retry_after`; beyond it, the next provider.
    - An invalid request stops the chain with that error: every provider would refuse it.
    - A provider whose circuit is open is skipped without a call, and recorded as skipped.
    - One deadline covers all attempts until an answer starts; it is never exceeded by a wait.
      While another provider is left, one attempt may use only `policy.attempt_share` of the
      time remaining; a provider that does not answer in it is left for the next.
    - Streams fall over only before their first content; a failure after that ends the stream
      with `StreamInterruptedError`, never with a clean-looking finish.
    - Every attempt is recorded (provider, model, outcome, latency) on the result or the error.
    - When every provider tried rate-limited the request, the error is a `RateLimitedError` with
      the soonest Retry-After: clients should slow down, not see an outage.
    - `telemetry` hears every attempt, fallover and answer (metrics, traces, logs, health).
    - `gate` may refuse a step before any call (a model the AI Gateway's catalog does not list:
      `model_availability.py`); the refusal is recorded as the attempt and the next provider asked.
    """

    def __init__(
        self,
        registry: ProviderRegistry,
        breakers: Breakers,
        policy: RetryPolicy = RetryPolicy(),
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
        gate: Callable[[Step], GatewayError | None] = lambda step: None,
    ) -> None:
        self._registry = registry
        self._gate = gate
        self._breakers = breakers
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not crypto
        self._telemetry = telemetry

    async def complete(self, steps: Sequence[Step]) -> Generation:
        attempts: list[Attempt] = []

        async def chat(step: Step) -> ChatResponse:
            return await self._registry.client(step.resolved).chat(step.request)

        observer = self._telemetry.generation(stream=False)
        began = self._clock()
        try:
            _, response = await self._first_success(steps, attempts, chat, observer)
        except GatewayError as exc:
            finish(observer, error=exc, elapsed=self._clock() - began)
            raise
        elapsed = self._clock() - began
        finish(observer, provider=response.provider, model=response.model, usage=response.usage,
               finish_reason=response.finish_reason, elapsed=elapsed)  # fmt: skip
        return Generation(response=response, attempts=tuple(attempts))

    def stream(self, steps: Sequence[Step]) -> ChainStream:
        result = ChainStream(deltas=_empty())
        result.deltas = self._stream(steps, result)
        return result

    async def _stream(self, steps: Sequence[Step], result: ChainStream) -> AsyncGenerator[StreamDelta, None]:
        observer = self._telemetry.generation(stream=True)
        began = self._clock()
        try:
            step, (opened, upstream, head, ended) = await self._first_success(
                steps, result.attempts, self._open_stream, observer
            )
        except GatewayError as exc:
            finish(observer, error=exc, elapsed=self._clock() - began)
            raise
        # Committed: content has begun, so this provider's answer is the answer.
        result.provider, result.model = step.resolved.provider, step.request.model
        observer.first_content(step.resolved.provider, step.request.model, self._clock() - began)
        last: list[StreamDelta] = []  # the deltas that carried usage or a finish, for `finished`
        error: GatewayError | None = None
        try:
            async with opened:  # the upstream stream is released however this one ends
                try:
                    for delta in head:
                        if delta.usage or delta.finish_reason:
                            last.append(delta)
                        yield delta
                    if ended:
                        return
                    async for delta in upstream:
                        if delta.usage or delta.finish_reason:
                            last.append(delta)
                        yield delta
                except GatewayError as exc:
                    self._record(self._breakers.for_step(step), exc)
                    interrupted = StreamInterruptedError(
                        f"the answer from {step.resolved.provider.value} broke off after it had begun: {exc.message}",
                        provider=step.resolved.provider,
                    )
                    interrupted.with_vendor_code(exc.vendor_code)  # an in-band event's code (issue 13)
                    interrupted.attempts = tuple(result.attempts)
                    error = interrupted
                    raise interrupted from None
        finally:
            finish(
                observer,
                provider=step.resolved.provider,
                model=step.request.model,
                usage=next((d.usage for d in reversed(last) if d.usage), None),
                finish_reason=next((d.finish_reason for d in reversed(last) if d.finish_reason), None),
                error=error,
                elapsed=self._clock() - began,
            )

    async def _open_stream(
        self, step: Step
    ) -> tuple[AsyncExitStack, AsyncIterator[StreamDelta], list[StreamDelta], bool]:
        """Open the provider's stream and read it until content begins (or it ends); on failure it
        is closed before the error is raised, so the next provider's attempt starts clean."""
        async with AsyncExitStack() as opened:
            upstream = await opened.enter_async_context(self._registry.client(step.resolved).stream(step.request))
            head: list[StreamDelta] = []
            ended = await _read_until_content(upstream, head)
            return opened.pop_all(), upstream, head, ended

    async def _first_success(
        self,
        steps: Sequence[Step],
        attempts: list[Attempt],
        call: Callable[[Step], Awaitable[T]],
        observer: GenerationObserver,
    ) -> tuple[Step, T]:
        """Run `call` through the chain until it succeeds; record every attempt in `attempts`
        and tell `observer` about each, and about each move to the next provider."""
        deadline = self._clock() + self._policy.deadline
        errors: list[GatewayError] = []
        breakers = [self._breakers.for_step(step) for step in steps]
        handoff: list[tuple[ProviderName, str]] = []  # whom the chain left, and why: told with the next attempt
        for index, (step, breaker) in enumerate(zip(steps, breakers, strict=True)):
            refused = self._gate(step)
            if refused is not None:
                attempts.append(self._attempt(step, self._clock(), refused.kind, refused.message))
                self._tell(observer, handoff, step, breaker, refused.kind, refused, self._clock())
                errors.append(refused)
                handoff.append((step.resolved.provider, refused.kind))
                continue
            try_number = 0
            while True:
                if not breaker.allow():
                    attempts.append(
                        Attempt(step.resolved.provider, step.request.model, CIRCUIT_OPEN, 0.0, _circuit_open(breaker))
                    )
                    self._tell(observer, handoff, step, breaker, CIRCUIT_OPEN, None, self._clock())
                    handoff.append((step.resolved.provider, CIRCUIT_OPEN))
                    break
                try_number += 1
                started = self._clock()
                remaining = deadline - started
                if remaining <= 0:
                    breaker.record_neutral()
                    raise self._exhausted(errors, attempts, deadline_passed=True)
                # Another provider may answer only if its circuit is not open.
                others_remain = any(b.state is not BreakerState.OPEN for b in breakers[index + 1 :])
                budget = attempt_budget(remaining, self._policy, others_remain=others_remain)
                failure: GatewayError
                try:
                    async with asyncio.timeout(budget) as scope:
                        with acting_for(step.user_id):  # the transport bounds each user's requests
                            value = await call(step)
                except TimeoutError:
                    if scope.expired() and budget >= remaining:
                        breaker.record_neutral()
                        attempts.append(self._attempt(step, started, "deadline", "deadline passed"))
                        self._tell(observer, handoff, step, breaker, "deadline", None, started)
                        raise self._exhausted(errors, attempts, deadline_passed=True) from None
                    # Our budget ran out (it looks down), or a timeout inside the call: the provider's failure.
                    failure = _hung(step, budget) if scope.expired() else _timed_out(step)
                except GatewayError as exc:
                    failure = exc
                else:
                    breaker.record_success()
                    attempts.append(self._attempt(step, started, "ok"))
                    self._tell(observer, handoff, step, breaker, "ok", None, started)
                    return step, value
                self._record(breaker, failure)
                attempts.append(self._attempt(step, started, failure.kind, failure.message))
                self._tell(observer, handoff, step, breaker, failure.kind, failure, started)
                errors.append(failure)
                decision = decide(failure, try_number, self._policy, self._rng, others_remain=others_remain)
                if decision.next is Next.STOP:
                    failure.attempts = tuple(attempts)
                    raise failure
                if decision.next is Next.RETRY and self._clock() + decision.wait < deadline:
                    await self._sleep(decision.wait)
                    continue
                handoff.append((step.resolved.provider, failure.kind))
                break
        raise self._exhausted(errors, attempts, deadline_passed=False)

    def _tell(
        self,
        observer: GenerationObserver,
        handoff: list[tuple[ProviderName, str]],
        step: Step,
        breaker: StepBreaker,
        outcome: str,
        error: GatewayError | None,
        started: float,
    ) -> None:
        """Report an attempt; first, if the chain has just left another provider, the fallover."""
        if handoff:
            left, reason = handoff.pop()
            observer.fell_over(left, step.resolved.provider, reason)
        duration = 0.0 if outcome == CIRCUIT_OPEN else self._clock() - started
        credentials, model = step.resolved.credentials, step.request.model
        report_attempt(observer, credentials, model, breaker, outcome, error, started, duration)

    def _record(self, breaker: StepBreaker, error: GatewayError) -> None:
        breaker.record(error)  # against the credential or the model (`breakers`)

    def _attempt(self, step: Step, started: float, outcome: str, error: str | None = None) -> Attempt:
        return Attempt(step.resolved.provider, step.request.model, outcome, (self._clock() - started) * 1000, error)

    def _exhausted(self, errors: list[GatewayError], attempts: list[Attempt], *, deadline_passed: bool) -> GatewayError:
        if errors and not deadline_passed and len({a.provider for a in attempts}) == 1:
            # One provider only: its own error says more than a summary would.
            last = errors[-1]
            last.attempts = tuple(attempts)
            return last
        summary = "; ".join(f"{a.provider.value}: {a.error or a.outcome}" for a in _last_per_provider(attempts))
        detail = f" ({summary})" if summary else ""
        error: GatewayError
        last_errors = list({e.provider: e for e in errors}.values())  # each provider's latest word
        if last_errors and not deadline_passed and all(isinstance(e, UnsupportedParameterError) for e in last_errors):
            # No provider can honour a parameter: the first refusal (a 400 naming it) is the answer.
            first = last_errors[0]
            first.attempts = tuple(attempts)
            return first
        if last_errors and not deadline_passed and all(isinstance(e, RateLimitedError) for e in last_errors):
            # Slowing down is the answer: say when the soonest provider expects to take requests again.
            waits = [
                e.retry_after for e in last_errors if isinstance(e, RateLimitedError) and e.retry_after is not None
            ]
            error = RateLimitedError(
                f"every provider rate-limited this request{detail}", retry_after=min(waits, default=None)
            )
        elif deadline_passed:
            error = ProvidersExhaustedError(
                f"no provider answered within the deadline of {self._policy.deadline:g} s{detail}", deadline_passed=True
            )
        elif not attempts:
            error = ProvidersExhaustedError(f"no provider could be tried{detail}")
        else:
            error = ProvidersExhaustedError(f"every provider failed{detail}")
        error.attempts = tuple(attempts)
        return error


def _timed_out(step: Step) -> ProviderUnavailableError:
    return ProviderUnavailableError(f"{step.resolved.provider.value} timed out", provider=step.resolved.provider)


def _hung(step: Step, budget: float) -> ProviderUnavailableError:
    return ProviderUnavailableError(
        f"{step.resolved.provider.value} did not answer within {budget:.3g} s, its share of the deadline",
        provider=step.resolved.provider,
        looks_down=True,
    )


def _last_per_provider(attempts: list[Attempt]) -> list[Attempt]:
    last: dict[ProviderName, Attempt] = {}
    for attempt in attempts:
        last[attempt.provider] = attempt
    return list(last.values())


async def _read_until_content(upstream: AsyncIterator[StreamDelta], head: list[StreamDelta]) -> bool:
    """Buffer deltas until one carries content or a finish; True if the stream ended already."""
    async for delta in upstream:
        head.append(delta)
        if delta.has_content or delta.finish_reason:
            return False
    return True


async def _empty() -> AsyncGenerator[StreamDelta, None]:
    return
    yield  # pragma: no cover


def _circuit_open(breaker: StepBreaker) -> str:
    """Why a provider was skipped, and when it will be tried again (a probe is already under way
    when the cool-down has passed)."""
    wait = breaker.retry_in()
    if wait <= 0:
        return "circuit open after repeated failures: a probe is under way, tried again after it"
    return f"circuit open after repeated failures: tried again in {math.ceil(wait)} s"
