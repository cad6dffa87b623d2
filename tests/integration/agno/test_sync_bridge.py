"""Sync Agno calls next to a running event loop, as in a FastAPI app: no deadlock, no loop per call."""

from __future__ import annotations

import asyncio
import threading
from functools import partial

from agno.agent import Agent
from agno.run.base import RunStatus
from yarl import URL

from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.entrypoints.container import Container, close
from tests.support.agents import in_thread, in_thread_async
from tests.support.fake_ai_gateway import FakeAIGateway


def bridge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ideaforge-loop-bridge"]


async def test_sync_run_in_a_worker_thread_uses_the_running_loop(app: Container, gateway: FakeAIGateway) -> None:
    agent = Agent(model=app.agent_model(), telemetry=False)
    await agent.arun("warm up")  # the HTTP client now lives on this test's loop
    output = await in_thread_async(lambda: agent.run("from a worker"))
    assert output.status is RunStatus.completed and output.content == "echo: from a worker"
    streamed = await in_thread_async(lambda: list(agent.run("streamed from a worker", stream=True)))
    assert "".join(e.content for e in streamed if isinstance(getattr(e, "content", None), str)).endswith("worker")
    assert app.loop_bridge().background_starts == 0  # served by this loop: no loop of its own
    assert gateway.state.token_requests == 1


async def test_sync_run_in_a_worker_thread_before_any_async_use(app: Container, gateway: FakeAIGateway) -> None:
    agent = Agent(model=app.ai_gateway_model(), telemetry=False)
    output = await in_thread_async(lambda: agent.run("first, from a worker"))
    assert output.status is RunStatus.completed, output.content
    # The bridge's loop owns the client now; async runs on this loop are served there too.
    assert (await agent.arun("then async")).content == "echo: then async"
    assert app.loop_bridge().background_starts == 1


async def test_a_client_used_before_the_bridge_existed_keeps_its_loop(app: Container, gateway: FakeAIGateway) -> None:
    await app.transport().send(
        "GET",
        URL(f"{gateway.url}/.well-known/openid-configuration"),
        provider=ProviderName.AI_GATEWAY,
        what="discovery",
    )
    assert app.loop_bridge().owner is asyncio.get_running_loop()
    agent = Agent(model=app.agent_model(), telemetry=False)
    output = await in_thread_async(lambda: agent.run("after other traffic"))
    assert output.status is RunStatus.completed, output.content
    assert app.loop_bridge().background_starts == 0


def test_repeated_sync_runs_reuse_one_background_loop(sync_app: Container, gateway: FakeAIGateway) -> None:
    before = len(bridge_threads())
    agent = Agent(model=sync_app.agent_model(), telemetry=False)
    for i in range(5):
        assert in_thread(partial(agent.run, f"call {i}")).content == f"echo: call {i}"
    bridge = sync_app.loop_bridge()
    assert bridge.background_starts == 1 and bridge.owner is bridge.background_loop
    assert len(bridge_threads()) == before + 1
    assert gateway.state.token_requests == 1
    asyncio.run(close(sync_app))  # closes the client on the bridge's loop, then stops that loop
    assert len(bridge_threads()) == before


async def test_a_sync_call_on_the_owner_loop_is_served_without_deadlocking(
    app: Container, gateway: FakeAIGateway
) -> None:
    # An `async def` calling `agent.run` (a notebook cell after an `await agent.arun`): waiting for
    # the blocked owner would deadlock, so the bridge's own loop serves it, with its own session.
    agent = Agent(model=app.ai_gateway_model(), telemetry=False)
    await agent.arun("warm up")
    output = agent.run("sync on the loop")
    assert output.status is RunStatus.completed and output.content == "echo: sync on the loop"
    streamed = list(agent.run("streamed on the loop", stream=True))
    assert "".join(e.content for e in streamed if isinstance(getattr(e, "content", None), str)).endswith("loop")
    assert app.loop_bridge().background_starts == 1
    assert gateway.state.token_requests == 1  # the token is shared across loops once cached
