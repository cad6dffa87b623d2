"""Circuit breakers count a failure against what it is evidence against (issue 13, case 9): a
model's own failures (the upstream answers its requests with 5xx) open that model's circuit on
that credential, and a healthy model on the same credential keeps being asked; a failure of the
credential's upstream itself (connection refused) still opens the credential's circuit for
every model. Through the real container, against an OpenAI-compatible loopback upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ideaforge_gateway.application.fallback_chain import CIRCUIT_OPEN
from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import Attempt, ChatMessage
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState
from ideaforge_gateway.entrypoints.container import Container, close
from tests.support.app import container_for
from tests.support.fake_openai_full import FakeOpenAIFull

KEY = "sk-full"
BROKEN, HEALTHY = "gpt-other", "gpt-full"


def ask(model: str) -> GenerateRequest:
    return GenerateRequest(messages=[ChatMessage("user", "hello")], model=model)


@pytest.fixture
def upstream() -> Iterator[FakeOpenAIFull]:
    with FakeOpenAIFull(api_key=KEY, broken_models={BROKEN}) as server:
        yield server


async def container(tmp_path: Path, base_url: str) -> Container:
    return container_for(tmp_path, openai_api_key=KEY, openai_base_url=base_url, ideaforge_allow_private_base_urls=True)


@pytest.fixture
async def app(tmp_path: Path, upstream: FakeOpenAIFull) -> AsyncIterator[Container]:
    built = await container(tmp_path, f"{upstream.url}/v1")
    yield built
    await close(built)


async def failed_attempts(app: Container, model: str) -> tuple[Attempt, ...]:
    with pytest.raises(GatewayError) as failed:
        await app.generate_reply().execute(ask(model))
    return failed.value.attempts


async def open_circuit(app: Container, model: str) -> None:
    """Ask `model` until its attempt is skipped as circuit-open (threshold 5, two tries a request)."""
    for _ in range(10):
        if [a.outcome for a in await failed_attempts(app, model)] == [CIRCUIT_OPEN]:
            return
    pytest.fail(f"the circuit for {model} never opened")


async def test_a_broken_model_opens_its_own_circuit_not_the_credentials(
    app: Container, upstream: FakeOpenAIFull
) -> None:
    await open_circuit(app, BROKEN)
    asked = upstream.state.requests_for(BROKEN)
    assert [a.outcome for a in await failed_attempts(app, BROKEN)] == [CIRCUIT_OPEN]
    assert upstream.state.requests_for(BROKEN) == asked  # skipped without a call

    # The healthy model on the same credential is still asked, and answers, whole and streamed.
    generation = await app.generate_reply().execute(ask(HEALTHY))
    assert generation.response.content == "answer 0"
    assert [(a.model, a.outcome) for a in generation.attempts] == [(HEALTHY, "ok")]
    stream = app.generate_reply().stream(ask(HEALTHY))
    assert "".join([d.content or "" async for d in stream.deltas]) == "answer 0"
    assert [a.outcome for a in stream.attempts] == ["ok"]
    # ... and its success does not close the broken model's circuit.
    assert [a.outcome for a in await failed_attempts(app, BROKEN)] == [CIRCUIT_OPEN]
    # The operator's view (`/ops/providers/health`) names the model whose circuit is open.
    states = {(e.model, e.state) for e in app.provider_health().snapshot()}
    assert states == {(BROKEN, BreakerState.OPEN)}


async def test_an_unknown_model_never_opens_a_circuit(app: Container, upstream: FakeOpenAIFull) -> None:
    for _ in range(6):
        assert [a.outcome for a in await failed_attempts(app, "gpt-nonexistent")] == ["model_not_found"]
    assert upstream.state.requests_for("gpt-nonexistent") == 6  # still asked: the 404 says why, every time
    assert (await app.generate_reply().execute(ask(HEALTHY))).response.content == "answer 0"


async def test_an_unreachable_upstream_opens_the_credentials_circuit_for_every_model(tmp_path: Path) -> None:
    with FakeOpenAIFull(api_key=KEY) as gone:
        url = gone.url  # nothing listens there any more: connections are refused
    app = await container(tmp_path, f"{url}/v1")
    try:
        await open_circuit(app, HEALTHY)
        attempts = await failed_attempts(app, "gpt-other")
    finally:
        await close(app)
    assert [(a.model, a.outcome) for a in attempts] == [("gpt-other", CIRCUIT_OPEN)]
