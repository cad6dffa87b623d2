"""Any number of event loops over a process's life: `asyncio.run` after `asyncio.run`, sync runs
in between, streaming or not. Each loop gets working clients; a finished loop's are released."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Iterator

import pytest
from agno.agent import Agent
from agno.run.agent import RunContentEvent
from agno.run.base import RunStatus

from ideaforge_gateway.entrypoints.container import Container
from tests.support.fake_ai_gateway import FakeAIGateway


@pytest.fixture
def unclosed(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """What aiohttp reports of sessions and connectors left open, after a garbage collection:
    the list the test asserts empty at its end."""
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield found
        gc.collect()
    found += [str(w.message) for w in caught if "Unclosed" in str(w.message)]
    found += [r.getMessage() for r in caplog.records if "Unclosed" in r.getMessage()]


def streamed_text(agent: Agent, prompt: str) -> str:
    return "".join(e.content for e in agent.run(prompt, stream=True) if isinstance(e, RunContentEvent) and e.content)


async def astreamed_text(agent: Agent, prompt: str) -> str:
    parts = []
    async for event in agent.arun(prompt, stream=True):
        if isinstance(event, RunContentEvent) and isinstance(event.content, str):
            parts.append(event.content)
    return "".join(parts)


@pytest.mark.parametrize("model", ["agent_model", "ai_gateway_model"])
def test_two_asyncio_runs_in_a_row_then_sync_runs(
    sync_app: Container, gateway: FakeAIGateway, unclosed: list[str], model: str
) -> None:
    agent = Agent(model=getattr(sync_app, model)(), telemetry=False)
    http = sync_app.http_client()
    first = asyncio.run(agent.arun("first loop"))
    assert first.status is RunStatus.completed and first.content == "echo: first loop"
    assert len(http.sessions) == 0  # closed as its loop shut down
    second = asyncio.run(agent.arun("second loop"))
    assert second.status is RunStatus.completed and second.content == "echo: second loop"
    assert asyncio.run(astreamed_text(agent, "third loop streamed")) == "echo: third loop streamed"
    # Sync calls afterwards, on the bridge's loop, then async again.
    assert agent.run("sync after").content == "echo: sync after"
    assert streamed_text(agent, "sync streamed after") == "echo: sync streamed after"
    assert asyncio.run(agent.arun("async again")).content == "echo: async again"
    assert http.sessions.opened == 5  # four loops of asyncio.run, and the bridge's one
    assert gateway.state.token_requests == 1  # the token outlives the loops
    assert unclosed == []


def test_sync_first_then_asyncio_run_then_sync_again(
    sync_app: Container, gateway: FakeAIGateway, unclosed: list[str]
) -> None:
    agent = Agent(model=sync_app.agent_model(), telemetry=False)
    assert agent.run("sync first").content == "echo: sync first"
    assert asyncio.run(agent.arun("then a loop")).content == "echo: then a loop"
    assert agent.run("sync again").content == "echo: sync again"
    assert sync_app.loop_bridge().background_starts == 1
    assert gateway.state.token_requests == 1
    assert unclosed == []


def test_loops_on_several_threads_at_once(sync_app: Container, gateway: FakeAIGateway, unclosed: list[str]) -> None:
    agent = Agent(model=sync_app.ai_gateway_model(), telemetry=False)
    answers: dict[int, object] = {}

    def worker(i: int) -> None:
        answers[i] = asyncio.run(agent.arun(f"thread {i}")).content

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert answers == {i: f"echo: thread {i}" for i in range(4)}
    assert len(sync_app.http_client().sessions) == 0
    assert unclosed == []


def test_a_loop_closed_without_shutting_down_is_released_later(
    sync_app: Container, gateway: FakeAIGateway, caplog: pytest.LogCaptureFixture
) -> None:
    # The old idiom: run_until_complete, then close, without shutting async generators down.
    agent = Agent(model=sync_app.ai_gateway_model(), telemetry=False)
    loop = asyncio.new_event_loop()
    assert loop.run_until_complete(agent.arun("old idiom")).content == "echo: old idiom"
    loop.close()
    assert asyncio.run(agent.arun("next loop")).content == "echo: next loop"  # releases the stale one
    del loop
    gc.collect()
    assert len(sync_app.http_client().sessions) == 0
    assert not [r for r in caplog.records if "Unclosed client session" in r.getMessage()]


async def test_a_cancelled_run_does_not_cancel_the_token_refresh_another_run_waits_for(
    app: Container, gateway: FakeAIGateway
) -> None:
    gate = threading.Event()
    gateway.state.token_gate = gate
    agent = Agent(model=app.ai_gateway_model(), telemetry=False)
    doomed = asyncio.create_task(agent.arun("gives up"))
    patient = asyncio.create_task(agent.arun("waits"))
    while gateway.state.token_requests == 0:  # both now wait for the one token request
        await asyncio.sleep(0.01)
    doomed.cancel()
    await asyncio.sleep(0)
    gate.set()
    output = await patient
    assert output.status is RunStatus.completed and output.content == "echo: waits"
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert gateway.state.token_requests == 1
