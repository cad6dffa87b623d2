"""Property-based tests of fallback ordering, retries, circuits and the deadline.

Providers are scripted fakes; time is a fake clock that attempts and backoff waits advance, so
each example runs in microseconds and the deadline is exact.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from ideaforge_gateway.application.fallback_chain import CIRCUIT_OPEN, Breakers, FallbackChain, ProvidersExhaustedError
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.application.telemetry import NO_TELEMETRY
from ideaforge_gateway.application.use_cases.generate_reply import GenerateReply, GenerateRequest
from ideaforge_gateway.domain.config import GatewayConfig, ProviderDefaults, TierModels
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    GatewayError,
    InvalidRequestError,
    ModelNotFoundError,
    ProviderUnavailableError,
    RateLimitedError,
    StreamInterruptedError,
)
from ideaforge_gateway.domain.models import (
    ChatMessage,
    ChatOptions,
    ChatRequest,
    ChatResponse,
    ModelInfo,
    ProviderName,
    StreamDelta,
    Tier,
    ToolSpec,
)
from ideaforge_gateway.domain.policies.fallback import RetryPolicy
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider
from ideaforge_gateway.domain.ports.provider_factory import ProviderFactory
from ideaforge_gateway.domain.ports.telemetry import Telemetry

OUTCOMES = ["ok", "unavailable", "refused", "rate_limited", "rate_limited_long", "auth", "model_not_found", "invalid"]
LATENCY = 0.5


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


@dataclass
class Script:
    outcomes: list[str]
    calls: list[float] = field(default_factory=list)
    """The fake time at which each call started."""
    consumed: list[str] = field(default_factory=list)
    """The outcome each call had."""


class ScriptedProvider(LLMProvider):
    def __init__(self, provider: ProviderName, script: Script, clock: FakeClock) -> None:
        self._provider = provider
        self._script = script
        self._clock = clock

    @property
    def name(self) -> ProviderName:
        return self._provider

    def _outcome(self) -> None:
        self._script.calls.append(self._clock.now)
        self._clock.now += LATENCY
        outcome = self._script.outcomes.pop(0) if self._script.outcomes else "ok"
        self._script.consumed.append(outcome)
        p = self._provider
        errors: dict[str, GatewayError] = {
            "unavailable": ProviderUnavailableError("503", provider=p),
            "refused": ProviderUnavailableError("refused", provider=p, looks_down=True),
            "rate_limited": RateLimitedError("429", provider=p, retry_after=1.0),
            "rate_limited_long": RateLimitedError("429", provider=p, retry_after=600.0),
            "auth": AuthenticationError("401", provider=p),
            "model_not_found": ModelNotFoundError("404", provider=p),
            "invalid": InvalidRequestError("400", provider=p),
        }
        if outcome != "ok":
            raise errors[outcome]

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self._outcome()
        return ChatResponse(provider=self._provider, model=request.model, content="answer")

    @asynccontextmanager
    async def stream(self, request: ChatRequest) -> AsyncIterator[AsyncIterator[StreamDelta]]:
        async with aclosing(self.deltas(request)) as deltas:
            yield deltas

    async def deltas(self, request: ChatRequest) -> AsyncGenerator[StreamDelta, None]:
        self._outcome()
        yield StreamDelta(content="ans")
        yield StreamDelta(content="wer", finish_reason="stop")

    async def list_models(self) -> list[ModelInfo]:
        return []


class ScriptedFactory(ProviderFactory):
    def __init__(self, scripts: dict[ProviderName, Script], clock: FakeClock) -> None:
        self.scripts = scripts
        self.clock = clock
        self.kinds: dict[ProviderName, type[ScriptedProvider]] = {}

    def build(self, credentials: ProviderCredentials) -> LLMProvider:
        kind = self.kinds.get(credentials.provider, ScriptedProvider)
        return kind(credentials.provider, self.scripts[credentials.provider], self.clock)


@dataclass
class World:
    reply: GenerateReply
    breakers: Breakers
    scripts: dict[ProviderName, Script]
    usable_in_order: list[ProviderName]
    policy: RetryPolicy
    clock: FakeClock
    factory: ScriptedFactory


def build_world(
    configured: set[ProviderName],
    gateway_enabled: bool,
    order: list[ProviderName],
    outcomes: dict[ProviderName, list[str]],
    policy: RetryPolicy,
    telemetry: Telemetry = NO_TELEMETRY,
) -> World:
    clock = FakeClock()
    tiers = TierModels("f", "s", "p")
    providers = {}
    for p in ProviderName:
        credentials = None
        if p in configured:
            secret = SecretStr("s") if p is ProviderName.AI_GATEWAY else None
            credentials = ProviderCredentials(p, SecretStr(f"{p.value}-key"), secret)
        enabled = gateway_enabled if p is ProviderName.AI_GATEWAY else True
        providers[p] = ProviderDefaults(p, tiers, credentials=credentials, enabled=enabled)
    config = GatewayConfig(providers, order=tuple(order))
    scripts = {p: Script(list(outcomes.get(p, []))) for p in ProviderName}
    factory = ScriptedFactory(scripts, clock)
    registry = ProviderRegistry(config, factory, clock=clock)
    breakers = Breakers(threshold=3, cooldown=30.0, clock=clock)
    chain = FallbackChain(
        registry, breakers, policy, clock=clock, sleep=clock.sleep, rng=random.Random(0), telemetry=telemetry
    )
    usable = [p for p in order if p in configured and (p is not ProviderName.AI_GATEWAY or gateway_enabled)]
    return World(GenerateReply(registry, chain), breakers, scripts, usable, policy, clock, factory)


providers_st = st.sets(st.sampled_from(list(ProviderName)))
order_st = st.permutations(list(ProviderName))
outcomes_st = st.dictionaries(
    st.sampled_from(list(ProviderName)), st.lists(st.sampled_from(OUTCOMES), max_size=4), max_size=4
)
policy_st = st.builds(
    RetryPolicy,
    attempts_per_provider=st.integers(1, 3),
    backoff_base=st.floats(0, 1),
    backoff_cap=st.floats(0, 2),
    max_retry_after=st.sampled_from([0.5, 5.0]),
    deadline=st.floats(0.4, 20),
)
REQUEST = GenerateRequest(messages=[ChatMessage("user", "hi")], tier=Tier.FAST)


async def run(world: World, *, stream: bool) -> tuple[list[tuple[ProviderName, str]], GatewayError | None]:
    """The attempts as (provider, outcome), and the error the generation ended with, if any."""
    try:
        if stream:
            result = world.reply.stream(REQUEST)
            text = "".join([d.content or "" async for d in result.deltas])
            assert text == "answer"
            return [(a.provider, a.outcome) for a in result.attempts], None
        generation = await world.reply.execute(REQUEST)
        assert generation.response.content == "answer"
        return [(a.provider, a.outcome) for a in generation.attempts], None
    except GatewayError as exc:
        return [(a.provider, a.outcome) for a in exc.attempts], exc


def check_invariants(world: World, attempts: list[tuple[ProviderName, str]], error: GatewayError | None) -> None:
    tried = [p for p, _ in attempts]
    # Only usable providers, in priority order, each visited in one contiguous run.
    assert all(p in world.usable_in_order for p in tried)
    runs = [p for i, p in enumerate(tried) if i == 0 or tried[i - 1] != p]
    assert runs == [p for p in world.usable_in_order if p in runs]
    assert len(runs) == len(set(runs))
    # Never beyond the retry budget.
    for p in set(tried):
        assert (
            sum(1 for q, outcome in attempts if q == p and outcome != CIRCUIT_OPEN)
            <= world.policy.attempts_per_provider
        )
    # Stop at the first success; success is the last attempt.
    oks = [i for i, (_, outcome) in enumerate(attempts) if outcome == "ok"]
    if error is None:
        assert oks == [len(attempts) - 1]
    else:
        assert oks == []
    # A provider that refuses connections is not retried while another provider is left.
    consumed = {p: iter(script.consumed) for p, script in world.scripts.items()}
    for i, (p, outcome) in enumerate(attempts):
        if outcome == CIRCUIT_OPEN:
            continue
        later = world.usable_in_order[world.usable_in_order.index(p) + 1 :]
        if next(consumed[p]) == "refused" and later and i + 1 < len(attempts):
            assert attempts[i + 1][0] != p
    # An invalid request stops everything.
    if any(outcome == "invalid_request" for _, outcome in attempts):
        assert attempts[-1][1] == "invalid_request" and isinstance(error, InvalidRequestError)
    # No attempt starts after the deadline.
    for script in world.scripts.values():
        assert all(start < world.policy.deadline for start in script.calls)
    # Each recorded call was a real call (circuit-open skips make none).
    for p in ProviderName:
        real = sum(1 for q, outcome in attempts if q == p and outcome != CIRCUIT_OPEN)
        assert len(world.scripts[p].calls) == real
    if not world.usable_in_order:
        assert error is not None


@settings(max_examples=300, deadline=None)
@given(providers_st, st.booleans(), order_st, outcomes_st, policy_st, st.booleans())
def test_attempts_follow_priority_budget_stop_rules_and_deadline(
    configured: set[ProviderName],
    gateway_enabled: bool,
    order: list[ProviderName],
    outcomes: dict[ProviderName, list[str]],
    policy: RetryPolicy,
    stream: bool,
) -> None:
    world = build_world(configured, gateway_enabled, order, outcomes, policy)
    try:
        attempts, error = asyncio.run(run(world, stream=stream))
    except GatewayError as exc:  # raised before any attempt: nothing configured
        assert not world.usable_in_order and "no provider is" in exc.message
        return
    check_invariants(world, attempts, error)


@settings(max_examples=100, deadline=None)
@given(providers_st, order_st, st.sets(st.sampled_from(list(ProviderName))))
def test_open_circuits_are_skipped_without_a_call(
    configured: set[ProviderName], order: list[ProviderName], opened: set[ProviderName]
) -> None:
    world = build_world(configured, True, order, {}, RetryPolicy())
    for step in world.reply.plan(REQUEST) if world.usable_in_order else []:
        if step.resolved.provider in opened:
            breaker = world.breakers.for_step(step)
            for _ in range(3):
                breaker.record_failure()
    attempts, error = asyncio.run(run(world, stream=False)) if world.usable_in_order else ([], None)
    for p, outcome in attempts:
        if p in opened:
            assert outcome == CIRCUIT_OPEN
    assert all(not world.scripts[p].calls for p in opened)
    first_closed = next((p for p in world.usable_in_order if p not in opened), None)
    if first_closed is None:
        assert error is None or "every provider failed" in error.message or not attempts
    else:
        assert error is None and attempts[-1] == (first_closed, "ok")


async def test_a_stream_that_breaks_after_content_ends_with_an_error_not_a_finish() -> None:
    class Breaking(ScriptedProvider):
        async def deltas(self, request: ChatRequest) -> AsyncGenerator[StreamDelta, None]:
            yield StreamDelta(content="half an ")
            raise ProviderUnavailableError("connection reset", provider=ProviderName.OPENAI)

    world = build_world({ProviderName.OPENAI, ProviderName.GEMINI}, True, list(ProviderName), {}, RetryPolicy())
    world.factory.kinds[ProviderName.OPENAI] = Breaking
    result = world.reply.stream(REQUEST)
    received: list[str] = []
    with pytest.raises(StreamInterruptedError, match="broke off after it had begun") as caught:
        async for delta in result.deltas:
            received.append(delta.content or "")
    assert received == ["half an "]
    assert not world.scripts[ProviderName.GEMINI].calls  # no fallback after content began
    assert [(a.provider, a.outcome) for a in caught.value.attempts] == [(ProviderName.OPENAI, "ok")]


class Hanging(ScriptedProvider):
    """Connected, then never answers: neither a byte nor an error."""

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self._script.calls.append(self._clock.now)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def deltas(self, request: ChatRequest) -> AsyncGenerator[StreamDelta, None]:
        self._script.calls.append(self._clock.now)
        await asyncio.Event().wait()
        yield StreamDelta()


@pytest.mark.parametrize("stream", [False, True])
async def test_a_hung_provider_gets_its_share_of_the_deadline_and_the_next_answers(stream: bool) -> None:
    # Real time here: the share is enforced by the event loop's timer, not by the fake clock.
    policy = RetryPolicy(deadline=0.4, attempt_share=0.5)
    world = build_world({ProviderName.OPENAI, ProviderName.GEMINI}, True, list(ProviderName), {}, policy)
    world.factory.kinds[ProviderName.OPENAI] = Hanging
    attempts, error = await run(world, stream=stream)
    assert error is None
    assert attempts == [(ProviderName.OPENAI, "unavailable"), (ProviderName.GEMINI, "ok")]
    assert len(world.scripts[ProviderName.OPENAI].calls) == 1  # looks down: not asked again


async def test_the_last_provider_may_use_all_that_remains() -> None:
    policy = RetryPolicy(deadline=0.3, attempt_share=0.5)
    world = build_world({ProviderName.OPENAI}, True, list(ProviderName), {}, policy)
    world.factory.kinds[ProviderName.OPENAI] = Hanging
    attempts, error = await run(world, stream=False)
    assert attempts == [(ProviderName.OPENAI, "deadline")]
    assert error is not None and "within the deadline of 0.3 s" in error.message


class TimingOutInside(ScriptedProvider):
    """A timeout of the provider's own making (a token source's wait, a socket), not the chain's."""

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self._script.calls.append(self._clock.now)
        raise TimeoutError


async def test_a_timeout_inside_the_call_is_the_providers_failure_not_the_deadline() -> None:
    world = build_world({ProviderName.OPENAI, ProviderName.GEMINI}, True, list(ProviderName), {}, RetryPolicy())
    world.factory.kinds[ProviderName.OPENAI] = TimingOutInside
    attempts, error = await run(world, stream=False)
    assert error is None
    # Like any unavailability (a read timeout, say): retried once, then the next provider.
    unavailable = (ProviderName.OPENAI, "unavailable")
    assert attempts == [unavailable, unavailable, (ProviderName.GEMINI, "ok")]


async def test_a_provider_gets_all_the_time_left_when_the_others_circuits_are_open() -> None:
    policy = RetryPolicy(deadline=0.3, attempt_share=0.5)
    world = build_world({ProviderName.OPENAI, ProviderName.GEMINI}, True, list(ProviderName), {}, policy)
    world.factory.kinds[ProviderName.OPENAI] = Hanging
    for step in world.reply.plan(REQUEST):
        if step.resolved.provider is ProviderName.GEMINI:
            for _ in range(3):
                world.breakers.for_step(step).record_failure()
    attempts, error = await run(world, stream=False)
    assert attempts == [(ProviderName.OPENAI, "deadline")]  # not cut at half for a provider that cannot answer
    assert isinstance(error, ProvidersExhaustedError) and error.deadline_passed


async def test_a_skipped_provider_says_when_it_will_be_tried_again() -> None:
    policy = RetryPolicy(attempts_per_provider=1, backoff_base=0, backoff_cap=0, deadline=60)
    world = build_world(
        {ProviderName.OPENAI, ProviderName.GEMINI},
        False,
        [ProviderName.OPENAI, ProviderName.GEMINI],
        {ProviderName.OPENAI: ["unavailable"] * 3},
        policy,
    )
    for _ in range(3):  # the breaker's threshold is 3: OpenAI's circuit opens
        await world.reply.execute(REQUEST)
    world.clock.now += 10.0
    generation = await world.reply.execute(REQUEST)
    skipped = generation.attempts[0]
    assert skipped.outcome == CIRCUIT_OPEN
    assert skipped.error is not None
    # Opened at the third failure (1.5 s of fake latency), cool-down 30 s, 10 s later: 20 s.
    assert "tried again in 20 s" in skipped.error, skipped.error
    world.clock.now += 30.0
    assert world.breakers.for_step(world.reply.plan(REQUEST)[0]).retry_in() == 0.0


@settings(max_examples=50, deadline=None)
@given(
    providers_st,
    order_st,
    st.dictionaries(st.sampled_from(["top_p", "seed", "user", "logit_bias", "x_custom"]), st.integers(), max_size=5),
)
def test_every_step_carries_the_callers_options_unchanged(
    configured: set[ProviderName], order: list[ProviderName], extra: dict[str, int]
) -> None:
    # One options object from the caller to every provider's request: no layer re-lists fields.
    world = build_world(configured, True, order, {}, RetryPolicy())
    options = ChatOptions(tools=[ToolSpec("f")], tool_choice="auto", temperature=0.3, max_tokens=9, extra=extra)
    request = GenerateRequest(messages=[ChatMessage("user", "hi")], tier=Tier.FAST, options=options)
    steps = world.reply.plan(request) if world.usable_in_order else []
    assert all(step.request.options is options for step in steps)


async def test_one_users_failures_never_open_the_shared_credentials_circuit_for_another() -> None:
    """Issue 18, case 3: the environment's credential is shared; mallory's failing requests open
    mallory's circuit only, and alice is still served by it."""
    policy = RetryPolicy(attempts_per_provider=1, deadline=10.0)
    world = build_world({ProviderName.OPENAI}, False, list(ProviderName), {}, policy)
    script = world.scripts[ProviderName.OPENAI]
    script.outcomes[:] = ["unavailable"] * 10
    mallory = GenerateRequest(messages=[ChatMessage("user", "hi")], tier=Tier.FAST, user_id="mallory")
    for _ in range(3):  # the threshold
        with pytest.raises(GatewayError):
            await world.reply.execute(mallory)
    with pytest.raises(GatewayError) as skipped:
        await world.reply.execute(mallory)
    assert [a.outcome for a in skipped.value.attempts] == [CIRCUIT_OPEN]
    script.outcomes.clear()
    alice = GenerateRequest(messages=[ChatMessage("user", "hi")], tier=Tier.FAST, user_id="alice")
    answered = await world.reply.execute(alice)
    assert [a.outcome for a in answered.attempts] == ["ok"]
