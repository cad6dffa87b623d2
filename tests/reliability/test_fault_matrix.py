"""The fault matrix: each network fault of the AI Gateway's upstream or token endpoint, through the
real container's fallback chain and through real HTTP `/v1`, with OpenAI healthy behind it.

Every case asserts the outcome (an answer, a fallback, or one clear error), that it came within
the deadline, and that nothing leaked: no file descriptor, socket or asyncio task over the
baseline once the container is closed, and no connection left open at the faulty upstream.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.report import Report, Section
from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ChatMessage, Tier
from ideaforge_gateway.entrypoints.container import Container, close
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway, GatewayState
from tests.support.faults import (
    MALFORMED_SSE,
    MALFORMED_TOKEN,
    Fault,
    FaultProxy,
)
from tests.support.leaks import Resources, settled, settled_sync
from tests.support.live_server import free_port
from tests.support.observed_server import ObservedLiveServer

OPENAI_KEY = "sk-fault-matrix-openai"
DEADLINE = 5.0
READ_TIMEOUT = 0.4
PROMPT = "one two three four five six"
ANSWER = f"echo: {PROMPT}"

INTRO = (
    "The AI Gateway (OAuth2 client credentials, OpenAI-compatible `/v1`) is first in the chain and "
    "faulty; OpenAI is second and healthy. Both are real HTTP servers on 127.0.0.1; faults come from "
    "the fake gateway's own knobs (5xx, 429, malformed JSON, a stream ending without `[DONE]`) or from "
    f"a TCP proxy in front of it (latency, hang, reset, drip, cut, canned bytes). Read timeout "
    f"{READ_TIMEOUT:g} s, deadline {DEADLINE:g} s unless the row says otherwise, 2 tries per provider. "
    "`container` runs `GenerateReply` (`chat` = `execute`, `stream` = `stream`) on the real container; "
    "`http /v1` posts `/v1/chat/completions` with `stream: true` to the real app under uvicorn. Leaks: "
    "file descriptors, sockets and asyncio tasks over the baseline after the container is closed "
    "(for http, tasks on the server's loop after the answer), and connections still open at the "
    "faulty endpoint."
)
HEADER = ["path", "fault", "at", "mode", "expected", "observed", "elapsed s", "deadline s", "leaks", "ok"]


@dataclass
class World:
    gateway: FakeAIGateway
    openai: FakeAIGateway
    stack: ExitStack
    proxies: list[FaultProxy] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def proxy(self, fault: Fault, **options: Any) -> FaultProxy:
        proxy = self.stack.enter_context(FaultProxy(self.gateway.server.port, fault, **options))
        self.proxies.append(proxy)
        return proxy

    def upstream_via(self, proxy_url: str) -> None:
        """The gateway's `/v1` through `proxy_url`; its token endpoint direct."""
        self.settings |= {
            "ai_gateway_base_url": proxy_url,
            "ai_gateway_token_url": f"{self.gateway.url}/oauth/token",
        }

    def token_via(self, proxy_url: str) -> None:
        self.settings["ai_gateway_token_url"] = f"{proxy_url}/oauth/token"

    def connections_left(self) -> int:
        return sum(p.open_connections for p in self.proxies)


Arrange = Callable[[World], None]


@dataclass(frozen=True)
class Case:
    fault: str
    at: str
    expected: str
    """`ai_gateway` (it answered), `openai` (fallback), or `error:<kind>`."""
    arrange: Arrange
    modes: tuple[str, ...]
    """Modes through the container; HTTP always streams."""
    deadline: float = DEADLINE
    read_timeout: float = READ_TIMEOUT
    min_elapsed: float = 0.0
    http: bool = True

    @property
    def id(self) -> str:
        return f"{self.at}-{self.fault}".replace(" ", "-")


def _latency(w: World) -> None:
    w.upstream_via(w.proxy(Fault.LATENCY, latency=0.1).url)


def _as_arranged(w: World) -> None:
    """The test arranges the fault itself."""


def _hang(w: World) -> None:
    w.upstream_via(w.proxy(Fault.HANG).url)


def _refused(w: World) -> None:
    w.upstream_via(f"http://127.0.0.1:{free_port()}")


def _reset(w: World) -> None:
    w.upstream_via(w.proxy(Fault.RESET).url)


def _5xx(w: World) -> None:
    w.gateway.state.chat_failures = [503] * 20


def _429(retry_after: str) -> Arrange:
    def arrange(w: World) -> None:
        w.gateway.state.chat_failures = [429] * 50
        w.gateway.state.chat_retry_after = retry_after

    return arrange


def _malformed_json(w: World) -> None:
    w.gateway.state.chat_malformed = 20


def _malformed_sse(w: World) -> None:
    w.upstream_via(w.proxy(Fault.CANNED, canned=MALFORMED_SSE).url)


def _cut_clean(w: World) -> None:
    w.gateway.state.stream_cut_after = 3


def _cut_dropped(w: World) -> None:
    w.upstream_via(w.proxy(Fault.CUT, cut_after=700).url)


def _drip(w: World) -> None:
    w.upstream_via(w.proxy(Fault.DRIP, drip_bytes=48, drip_interval=0.01).url)


def _token(fault: Fault, **options: Any) -> Arrange:
    def arrange(w: World) -> None:
        w.token_via(w.proxy(fault, **options).url)

    return arrange


def _token_refused(w: World) -> None:
    w.settings["ai_gateway_token_url"] = f"http://127.0.0.1:{free_port()}/oauth/token"


def _token_status(status: int, retry_after: str | None = None) -> Arrange:
    def arrange(w: World) -> None:
        w.gateway.state.token_failures = [status] * 30
        w.gateway.state.token_retry_after = retry_after

    return arrange


UPSTREAM = "upstream"
TOKEN = "token endpoint"
BOTH = ("chat", "stream")
CHAT = ("chat",)
STREAM = ("stream",)
CASES = [
    Case("added latency", UPSTREAM, "ai_gateway", _latency, BOTH, min_elapsed=0.1),
    Case("hang", UPSTREAM, "openai", _hang, BOTH, min_elapsed=2 * READ_TIMEOUT),
    # The read timeout outlasts the deadline: the attempt's share of the deadline (half) moves on.
    Case(
        "hang, read timeout past the deadline",
        UPSTREAM,
        "openai",
        _hang,
        BOTH,
        deadline=1.0,
        read_timeout=30.0,
        min_elapsed=0.5,
    ),
    Case("refused connection", UPSTREAM, "openai", _refused, CHAT),
    Case("reset", UPSTREAM, "openai", _reset, BOTH),
    Case("5xx", UPSTREAM, "openai", _5xx, BOTH),
    Case("429 storm, Retry-After 0.5", UPSTREAM, "openai", _429("0.5"), CHAT, min_elapsed=0.5),
    Case("429 storm, Retry-After 120", UPSTREAM, "openai", _429("120"), CHAT),
    Case("malformed JSON", UPSTREAM, "openai", _malformed_json, BOTH),
    Case("malformed SSE", UPSTREAM, "openai", _malformed_sse, STREAM),
    Case("stream cut mid-way (clean end, no [DONE])", UPSTREAM, "error:stream_interrupted", _cut_clean, STREAM),
    Case("stream cut mid-way (connection dropped)", UPSTREAM, "error:stream_interrupted", _cut_dropped, STREAM),
    Case("slow drip", UPSTREAM, "ai_gateway", _drip, BOTH, min_elapsed=0.1),
    Case("added latency", TOKEN, "ai_gateway", _token(Fault.LATENCY, latency=0.1), CHAT, min_elapsed=0.1),
    Case("hang", TOKEN, "openai", _token(Fault.HANG), CHAT, min_elapsed=6 * READ_TIMEOUT, http=False),
    Case("refused connection", TOKEN, "openai", _token_refused, CHAT, http=False),
    Case("reset", TOKEN, "openai", _token(Fault.RESET), CHAT, http=False),
    Case("5xx", TOKEN, "openai", _token_status(503), CHAT),
    Case("429 storm, Retry-After 0.5", TOKEN, "openai", _token_status(429, "0.5"), CHAT, min_elapsed=2.0, http=False),
    Case("malformed JSON", TOKEN, "openai", _token(Fault.CANNED, canned=MALFORMED_TOKEN), CHAT),
    Case("slow drip", TOKEN, "ai_gateway", _token(Fault.DRIP, drip_bytes=16, drip_interval=0.01), CHAT, http=False),
]
CONTAINER_CASES = [(case, mode) for case in CASES for mode in case.modes]
HTTP_CASES = [case for case in CASES if case.http]
"""Through HTTP every upstream fault, and the token endpoint's where HTTP could add anything."""


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FakeAIGateway, FakeAIGateway]]:
    with FakeAIGateway() as gateway, FakeAIGateway(api_key=OPENAI_KEY) as openai:
        yield gateway, openai


@pytest.fixture
def world(servers: tuple[FakeAIGateway, FakeAIGateway]) -> Iterator[World]:
    gateway, openai = servers
    for server in servers:  # fresh knobs and counters, the same (already running) servers
        with server.lock:
            server.state = GatewayState(api_key=server.state.api_key)
    with ExitStack() as stack:
        yield World(gateway, openai, stack)


@pytest.fixture(scope="module")
def _uvicorn_warmed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Run one server first: libuv's signal pipe, opened once per process, is not a leak."""
    with ObservedLiveServer(container_for(tmp_path_factory.mktemp("warm"))):
        pass


@pytest.fixture
def faults_table(report: Report) -> Section:
    return report.section("faults", "Fault matrix", INTRO, HEADER)


def settings_for(world: World, case: Case) -> dict[str, Any]:
    return {
        "ai_gateway_client_id": world.gateway.state.client_id,
        "ai_gateway_client_secret": world.gateway.state.client_secret,
        "ai_gateway_base_url": world.gateway.url,
        "ai_gateway_enabled": True,
        "openai_api_key": OPENAI_KEY,
        "openai_base_url": f"{world.openai.url}/v1",
        "ideaforge_deadline_seconds": case.deadline,
        "ideaforge_http_read_timeout": case.read_timeout,
        "ideaforge_http_connect_timeout": 2.0,
        **world.settings,
    }


def assert_case(
    table: Section, path: str, case: Case, mode: str, observed: str, elapsed: float, leaks: Resources, left: int
) -> None:
    # The faults hang for good: any bound proves the deadline cut them off. A generous one keeps a
    # loaded machine from turning the verdict; the table records the exact time taken.
    bound = case.deadline + 5.0
    leak_text = "none" if leaks.clean and left == 0 else f"{leaks.describe()}, upstream connections {left}"
    ok = observed == case.expected and case.min_elapsed <= elapsed < bound and leak_text == "none"
    table.add(
        path, case.fault, case.at, mode, case.expected, observed, elapsed, case.deadline, leak_text, "✓" if ok else "✗"
    )
    assert observed == case.expected
    assert elapsed < bound, f"took {elapsed:.2f} s, deadline {case.deadline} s"
    assert elapsed >= case.min_elapsed, f"took {elapsed:.2f} s: was the fault applied?"
    assert leaks.clean, leaks.describe()
    assert left == 0, f"{left} connections left open at the faulty endpoint"


async def run_container(container: Container, mode: str) -> str:
    request = GenerateRequest(messages=[ChatMessage("user", PROMPT)], tier=Tier.STANDARD)
    try:
        if mode == "chat":
            generation = await container.generate_reply().execute(request)
            assert generation.response.content == ANSWER
            return generation.response.provider.value
        stream = container.generate_reply().stream(request)
        text = "".join([d.content or "" async for d in stream.deltas])
        assert text == ANSWER, text
        assert stream.provider is not None
        return stream.provider.value
    except GatewayError as exc:
        return "error:deadline" if "deadline" in exc.message else f"error:{exc.kind}"


@pytest.mark.parametrize(("case", "mode"), CONTAINER_CASES, ids=[f"{c.id}-{m}" for c, m in CONTAINER_CASES])
async def test_through_the_container(
    world: World, case: Case, mode: str, tmp_path: Path, faults_table: Section
) -> None:
    case.arrange(world)  # proxies first: their own loop, thread and listening socket are not leaks
    baseline = Resources.now()
    container = container_for(tmp_path, **settings_for(world, case))
    await _to_thread_engine(container)
    started = time.monotonic()
    try:
        observed = await asyncio.wait_for(run_container(container, mode), timeout=case.deadline + 10)
        elapsed = time.monotonic() - started
    finally:
        await close(container)
    del container
    leaks = await settled(baseline, also=lambda: world.connections_left() == 0)
    assert_case(faults_table, "container", case, mode, observed, elapsed, leaks, world.connections_left())


async def _to_thread_engine(container: Container) -> None:
    """Migrate before the clock starts, as the server does at start-up."""
    await asyncio.to_thread(container.engine)


def classify_http(response: httpx.Response, body: str) -> str:
    if response.status_code == 504:
        return "error:deadline"
    if response.status_code != 200:
        return f"error:HTTP {response.status_code} {response.json()['error']['code']}"
    events = [block.removeprefix("data: ") for block in body.split("\n\n") if block.startswith("data: ")]
    if events and events[-1] == "[DONE]":
        text = "".join(
            choice["delta"].get("content") or ""
            for event in events[:-1]
            for choice in json.loads(event).get("choices", [])
        )
        assert text == ANSWER, text
        return response.headers["x-ideaforge-provider"]
    last = json.loads(events[-1]) if events else {}
    return f"error:{last.get('error', {}).get('code', 'no [DONE] and no error event')}"


@pytest.mark.usefixtures("_uvicorn_warmed")
@pytest.mark.parametrize("case", HTTP_CASES, ids=[c.id for c in HTTP_CASES])
def test_through_http_v1(world: World, case: Case, tmp_path: Path, faults_table: Section) -> None:
    case.arrange(world)
    baseline = Resources.now(tasks=False)
    container = container_for(tmp_path, **settings_for(world, case))
    with ObservedLiveServer(container) as server:
        token = server.create_user("matrix")
        with httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
            assert client.get("/api/providers").status_code == 200  # warm: a connection, a cached user
            tasks_before = server.tasks()
            body = {"model": "standard", "stream": True, "messages": [{"role": "user", "content": PROMPT}]}
            started = time.monotonic()
            with client.stream("POST", "/v1/chat/completions", json=body) as response:
                text = "".join(response.iter_text())
            elapsed = time.monotonic() - started
            observed = classify_http(response, text)
            extra_tasks = server.tasks_settled(tasks_before)
    del container
    leaks = settled_sync(baseline, also=lambda: world.connections_left() == 0)
    leaks = Resources(leaks.fds, leaks.sockets, extra_tasks, leaks.targets)
    assert_case(faults_table, "http /v1", case, "stream", observed, elapsed, leaks, world.connections_left())


async def test_a_hung_gateway_falls_over_with_the_default_read_timeout(world: World, tmp_path: Path) -> None:
    world.upstream_via(world.proxy(Fault.HANG).url)
    settings = settings_for(world, Case("hang", UPSTREAM, "openai", _hang, CHAT, deadline=2.0))
    # The default read timeout, 60 s, is longer than the deadline: the attempt's share of the
    # deadline (half of it while OpenAI is left) is what moves on.
    del settings["ideaforge_http_read_timeout"]
    container = container_for(tmp_path, **settings)
    try:
        observed = await asyncio.wait_for(run_container(container, "chat"), timeout=30)
    finally:
        await close(container)
    assert observed == "openai"


async def test_a_hung_gateway_does_not_hold_up_the_model_list(world: World, tmp_path: Path) -> None:
    from ideaforge_gateway.application.use_cases.list_models import ListModelsRequest

    world.upstream_via(world.proxy(Fault.HANG).url)
    case = Case("hang", UPSTREAM, "openai", _hang, CHAT, deadline=1.0, read_timeout=30.0)
    container = container_for(tmp_path, **settings_for(world, case))
    try:
        listing = container.list_models().execute(ListModelsRequest())
        models = await asyncio.wait_for(listing, timeout=case.deadline + 1.0)
    finally:
        await close(container)
    assert {m.provider.value for m in models} == {"openai"}


@pytest.mark.usefixtures("_uvicorn_warmed")
def test_a_client_that_goes_away_mid_stream_releases_the_upstream(
    world: World, tmp_path: Path, faults_table: Section
) -> None:
    """The upstream stalls after its first chunk; the client reads the first content and hangs up.
    The gateway must close its upstream stream and end the request's tasks, not wait for the stall."""
    world.upstream_via(world.proxy(Fault.PASS).url)
    world.gateway.state.stream_gate = threading.Event()
    case = Case("client gone mid-stream", UPSTREAM, "upstream released", _as_arranged, STREAM)
    baseline = Resources.now(tasks=False)
    container = container_for(tmp_path, **settings_for(world, case))
    try:
        with ObservedLiveServer(container) as server:
            token = server.create_user("leaver")
            with httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
                assert client.get("/api/providers").status_code == 200
                tasks_before = server.tasks()
                body = {"model": "standard", "stream": True, "messages": [{"role": "user", "content": PROMPT}]}
                started = time.monotonic()
                with client.stream("POST", "/v1/chat/completions", json=body) as response:
                    for line in response.iter_lines():
                        if '"content"' in line:
                            break  # hang up with the upstream stalled mid-stream
                released = _wait(lambda: world.connections_left() == 0, 5.0)
                elapsed = time.monotonic() - started
                extra_tasks = server.tasks_settled(tasks_before)
    finally:
        world.gateway.state.stream_gate.set()
    leaks = settled_sync(baseline, also=lambda: world.connections_left() == 0)
    observed = "upstream released" if released else "upstream still open"
    leaks = Resources(leaks.fds, leaks.sockets, extra_tasks, leaks.targets)
    assert_case(faults_table, "http /v1", case, "stream", observed, elapsed, leaks, world.connections_left())


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
