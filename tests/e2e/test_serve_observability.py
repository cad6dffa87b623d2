"""`ideaforge serve --workers 2` with metrics on: one scrape counts every worker's requests
(prometheus-client's multiprocess mode, in a private directory `serve` makes and removes), the
access log is JSON on request, `/readyz` answers, and `ideaforge providers health` reads a
running gateway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.observability.conftest import GATEWAY_SECRET, OPENAI_KEY, OPERATOR_TOKEN, value
from tests.support.cli import run_cli
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import free_port

SCRIPT = Path(sys.executable).with_name("ideaforge")
CHAT = "/v1/chat/completions"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@dataclass
class Served:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[str]
    health_calls: int
    """Calls to the operators' `/ops/providers/health` (which names its worker) until both answered."""
    workers: set[int]


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_secret=GATEWAY_SECRET) as server:
        yield server


@pytest.fixture
def openai() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(api_key=OPENAI_KEY) as server:
        yield server


@pytest.fixture
def served(tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway) -> Iterator[Served]:
    env = {
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
        "AI_GATEWAY_ENABLED": "true",
        "AI_GATEWAY_CLIENT_ID": gateway.state.client_id,
        "AI_GATEWAY_CLIENT_SECRET": GATEWAY_SECRET,
        "AI_GATEWAY_BASE_URL": gateway.url,
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": f"{openai.url}/v1",
        "IDEAFORGE_METRICS": "true",
        "IDEAFORGE_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "IDEAFORGE_LOG_FORMAT": "json",
        "IDEAFORGE_LOG_LEVEL": "info",
        "TMPDIR": str(tmp_path),  # where `serve` makes its metrics directory
    }
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AI_GATEWAY_", "IDEAFORGE_", "OPENAI_"))}
    base.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port), "--workers", "2"],
        env={**base, **env},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    workers: set[int] = set()
    calls = 0
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2:
            assert process.poll() is None, process.stderr.read() if process.stderr else "serve exited"
            assert time.monotonic() < deadline, "two workers did not come up"
            try:
                with httpx.Client() as fresh:  # a new connection each time, so either worker may answer
                    answer = fresh.get(f"{url}/ops/providers/health", headers=OPERATOR, timeout=2)
                calls += 1
                workers.add(answer.json()["worker"])
            except httpx.TransportError:
                time.sleep(0.1)
        yield Served(url, env, process, calls, workers)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(15)


def fresh(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30)


def test_one_scrape_counts_the_requests_of_both_workers(served: Served, gateway: FakeAIGateway, tmp_path: Path) -> None:
    token = json.loads(run_cli("users", "create", "ada", "--json", env=served.env, cwd=tmp_path).stdout)["token"]
    auth = {"Authorization": f"Bearer {token}"}
    body = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(6):
        with fresh(served.url) as client:
            assert client.post(CHAT, json=body, headers=auth).headers["X-IdeaForge-Provider"] == "ai_gateway"
    gateway.state.chat_failures = [503, 503] * 2  # two fallovers: no circuit opens, even in one worker
    for _ in range(2):
        with fresh(served.url) as client:
            assert client.post(CHAT, json=body, headers=auth).headers["X-IdeaForge-Provider"] == "openai"
    with fresh(served.url) as client:
        assert client.get("/readyz").json()["status"] == "ready"
        scrape = client.get("/metrics", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert scrape.status_code == 200
    text = scrape.text

    # Both workers answered the operators' health route (the fixture waited for both): the one
    # scrape counts them all.
    assert len(served.workers) == 2
    health = "/ops/providers/health"
    assert value(text, "http_server_request_duration_seconds_count", http_route=health) >= served.health_calls
    # `ideaforge serve` asks /healthz itself, to announce that it is ready.
    assert value(text, "http_server_request_duration_seconds_count", http_route="/healthz") >= 1
    route = "/v1/chat/completions"
    assert value(text, "http_server_request_duration_seconds_count", http_route=route) == 8
    assert (
        value(text, "http_server_request_duration_seconds_count", http_route=route, gen_ai_provider_name="openai") == 2
    )
    assert value(text, "ideaforge_fallbacks_total", from_provider="ai_gateway", reason="unavailable") == 2
    assert value(text, "gen_ai_client_token_usage_sum", gen_ai_token_type="input") == 8 * 11
    assert value(text, "gen_ai_client_operation_duration_seconds_count", error_type="unavailable") == 4
    for canary in (GATEWAY_SECRET, OPENAI_KEY, OPERATOR_TOKEN, token):
        assert canary not in text

    metrics_dirs = list(tmp_path.glob("ideaforge-metrics-*"))
    assert len(metrics_dirs) == 1 and oct(metrics_dirs[0].stat().st_mode & 0o777) == "0o700"

    health = run_cli("providers", "health", "--url", served.url, "--json", env=served.env, cwd=tmp_path)
    assert health.code == 0, health.output
    document = json.loads(health.stdout)
    assert document["worker"] in served.workers
    plain = run_cli("providers", "health", "--url", served.url, env=served.env, cwd=tmp_path)
    assert plain.code == 0 and plain.stdout.startswith("worker "), plain.output
    denied = run_cli(
        "providers",
        "health",
        "--url",
        served.url,
        env={**served.env, "IDEAFORGE_OPERATOR_TOKEN": "wrong-but-long-enough-token"},
        cwd=tmp_path,
    )
    assert denied.code == 1 and "refused the operator token" in denied.stderr

    served.process.terminate()
    served.process.wait(15)
    assert not list(tmp_path.glob("ideaforge-metrics-*"))  # removed at exit
    stderr = served.process.stderr.read() if served.process.stderr else ""
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    # Announced once, though the announcer's probe may reach either worker: both hold the start key.
    assert sum(1 for line in lines if "IdeaForge gateway ready at" in line["message"]) == 1
    access = [line for line in lines if line["logger"] == "ideaforge.access" and line["path"] == route]
    assert len(access) == 8 and {a["status"] for a in access} == {200}
    assert sum(1 for a in access if a["provider"] == "openai" and a["attempts"] == 3) == 2
    fallovers = [
        line for line in lines if line["logger"] == "ideaforge.providers" and "falling over" in line["message"]
    ]
    assert len(fallovers) == 2 and {f["reason"] for f in fallovers} == {"unavailable"}
    for canary in (GATEWAY_SECRET, OPENAI_KEY, OPERATOR_TOKEN, token):
        assert canary not in stderr
