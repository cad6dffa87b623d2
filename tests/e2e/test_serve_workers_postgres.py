"""`ideaforge serve --workers 2` on PostgreSQL: a change made through one worker is used by the
other within a second."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.cli import run_cli
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.postgres import PostgresServer
from tests.support.serve_process import ServeProcess


@pytest.fixture
def env(tmp_path: Path, postgres_server: PostgresServer) -> dict[str, str]:
    key = run_cli("keys", "generate", env={}, cwd=tmp_path).stdout.strip()
    return {
        "IDEAFORGE_DATABASE_URL": postgres_server.create_database(),
        "IDEAFORGE_ENCRYPTION_KEYS": key,
        "IDEAFORGE_ALLOW_PRIVATE_BASE_URLS": "true",
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.fixture
def serve(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Ready once both workers say their start-up is complete (uvicorn's own line, at info)."""
    with ServeProcess("--workers", "2", env=env, cwd=tmp_path, log_level="info") as server:
        server.wait_for(lambda lines: sum("Application startup complete" in x for x in lines) >= 2, "two workers")
        yield server.url


def generate_on_fresh_connections(url: str, token: str, count: int) -> list[str]:
    def one(_: int) -> str:
        with httpx.Client(timeout=30) as fresh:
            answer = fresh.post(
                f"{url}/api/generate", json={"prompt": "which?"}, headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 200, answer.text
            return str(answer.json()["model"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def test_a_change_through_one_worker_is_used_by_the_other(env: dict[str, str], serve: str, tmp_path: Path) -> None:
    token = run_cli("users", "create", "alice", "--json", env=env, cwd=tmp_path)
    assert token.code == 0, token.output
    alice = json.loads(token.stdout)["token"]
    auth = {"Authorization": f"Bearer {alice}"}
    with FakeAIGateway() as gateway, httpx.Client(base_url=serve, timeout=30) as client:

        def configure(model: str) -> None:
            body = {
                "aiGatewayClientId": gateway.state.client_id,
                "aiGatewayClientSecret": gateway.state.client_secret,
                "aiGatewayBaseUrl": gateway.url,
                "aiGatewayDefaultModel": model,
            }
            assert client.post("/api/providers/configure", json=body, headers=auth).status_code == 200

        configure("gpt-4o")
        time.sleep(1.1)
        # Both workers now hold alice's credentials (and a client for them) in their caches.
        assert set(generate_on_fresh_connections(serve, alice, 24)) == {"gpt-4o"}

        configure("gpt-4.1")  # through whichever worker took this connection
        time.sleep(1.0)
        assert set(generate_on_fresh_connections(serve, alice, 24)) == {"gpt-4.1"}
