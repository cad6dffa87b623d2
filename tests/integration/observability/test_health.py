"""`/healthz`, `/readyz` and the operators' providers' health, through the real app."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx

from tests.integration.observability.conftest import CANARIES, OPERATOR_TOKEN, observed_container
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def test_readyz_is_ready_then_names_a_schema_behind_head(
    tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    container = observed_container(tmp_path, gateway, openai)
    with LiveServer(container) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        with sqlite3.connect(tmp_path / "data" / "ideaforge.db") as db:
            db.execute("UPDATE alembic_version SET version_num = '0000'")
        behind = client.get("/readyz")
        assert client.get("/healthz").status_code == 200  # alive, not ready
    assert behind.status_code == 503
    assert behind.json()["status"] == "not_ready"
    [problem] = behind.json()["problems"]
    assert "schema at 0000, not at head" in problem


def test_readyz_names_an_unreachable_database(tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway) -> None:
    container = observed_container(tmp_path, gateway, openai)
    with LiveServer(container) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        (tmp_path / "data" / "ideaforge.db").unlink()
        (tmp_path / "data" / "ideaforge.db").mkdir()  # a directory where the database file was
        container.engine().dispose()  # no pooled connection to the old file survives
        answer = client.get("/readyz")
    assert answer.status_code == 503
    [problem] = answer.json()["problems"]
    assert problem.startswith("database unreachable (") and "IDEAFORGE_DATABASE_URL" in problem


def test_operators_see_the_open_circuit_its_last_failure_and_the_next_retry(
    tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    container = observed_container(tmp_path, gateway, openai, ideaforge_operator_token=OPERATOR_TOKEN)
    with LiveServer(container) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        auth = {"Authorization": f"Bearer {live.create_user('ada')}"}
        body = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}
        assert client.get("/ops/providers/health", headers=OPERATOR).json()["providers"] == []
        gateway.state.chat_failures = [503] * 5
        for _ in range(3):  # 2 + 2 + 1 failures: the circuit opens on the fifth
            assert client.post("/v1/chat/completions", json=body, headers=auth).status_code == 200
        answer = client.get("/ops/providers/health", headers=OPERATOR)
    assert answer.status_code == 200
    [entry] = answer.json()["providers"]
    assert entry["provider"] == "ai_gateway" and entry["model"] == "gpt-4o-mini" and len(entry["credential"]) == 8
    assert entry["state"] == "open" and entry["last_failure_kind"] == "unavailable"
    assert "HTTP 503" in entry["last_failure"]
    assert time.time() + 25 < entry["retry_at"] <= time.time() + 30
    for canary in CANARIES:
        assert canary not in answer.text
