"""PostgreSQL going away under a steady stream of requests, against the real app over HTTP: a
private server (halted and resumed with pg_ctl) so the session's shared one is never touched.

What must hold: no 500 ever; a request that needs the database gets 503 with Retry-After in its
route family's shape; a user whose sign-in and credentials were cached is served for the grace
period; `/healthz` answers; everything recovers once the database is back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ideaforge_gateway.adapters.crypto import KeyRing
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer, free_port
from tests.support.postgres import PostgresServer, PostgresUnavailable

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHAT = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_id="alice-client", client_secret="alice-secret") as server:
        yield server


@pytest.fixture
def live(tmp_path: Path, private_postgres: PostgresServer) -> Iterator[LiveServer]:
    container = container_for(
        tmp_path,
        ideaforge_database_url=private_postgres.create_database(),
        ideaforge_encryption_keys=KeyRing.generate_entry("k1"),
        ideaforge_allow_private_base_urls=True,
        ideaforge_database_timeout_seconds=1,
        ideaforge_database_grace_seconds=600,  # far longer than any test: the grace never ends here
    )
    with LiveServer(container) as server:
        yield server


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def configured_user(live: LiveServer, http: httpx.Client, gateway: FakeAIGateway, name: str) -> str:
    token = live.create_user(name)
    body = {
        "aiGatewayClientId": gateway.state.client_id,
        "aiGatewayClientSecret": gateway.state.client_secret,
        "aiGatewayBaseUrl": gateway.url,
    }
    configured = http.post("/api/providers/configure", json=body, headers=bearer(token))
    assert configured.status_code == 200, configured.text
    return token


def assert_database_503(response: httpx.Response, family: str) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    if family == "v1":
        error = response.json()["error"]
        assert error["type"] == "api_error" and error["code"] == "database_unavailable"
        assert "database is unavailable" in error["message"]
    else:
        assert response.json() == {
            "error": "the database is unavailable: retry shortly",
            "kind": "database_unavailable",
        }


def test_a_stopped_database_answers_503_serves_cached_users_and_recovers(
    live: LiveServer, gateway: FakeAIGateway, private_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as http:
        alice = configured_user(live, http, gateway, "alice")
        bob = configured_user(live, http, gateway, "bob")
        assert http.post("/v1/chat/completions", json=CHAT, headers=bearer(alice)).status_code == 200
        carol = live.create_user("carol")  # never seen by the app: nothing of hers is cached
        assert http.get("/readyz").status_code == 200
        private_postgres.halt()
        try:
            assert http.get("/readyz").status_code == 503
            statuses: list[int] = []
            for _round in range(3):  # a steady, bounded stream through the outage
                served = http.post("/v1/chat/completions", json=CHAT, headers=bearer(alice))
                assert served.status_code == 200, served.text  # cached sign-in and credentials
                refused = http.post("/v1/chat/completions", json=CHAT, headers=bearer(carol))
                assert_database_503(refused, "v1")
                listed = http.get("/api/providers", headers=bearer(carol))
                assert_database_503(listed, "api")
                write = http.delete("/api/providers/ai_gateway", headers=bearer(bob))
                assert_database_503(write, "api")
                assert http.get("/healthz").status_code == 200
                statuses += [served.status_code, refused.status_code, listed.status_code, write.status_code]
            assert 500 not in statuses
        finally:
            private_postgres.resume()
        deadline = time.monotonic() + 30
        while True:
            answer = http.post("/v1/chat/completions", json=CHAT, headers=bearer(carol))
            assert answer.status_code in (200, 409, 503), answer.text
            if answer.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # Carol has no credentials of her own and no environment provider: 409 once she is read.
        assert answer.status_code == 409, answer.text
        assert http.get("/api/providers", headers=bearer(bob)).status_code == 200
        assert http.get("/readyz").status_code == 200
    outage_lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert outage_lines and all(r.exc_info is None for r in outage_lines)


def test_a_frozen_database_is_answered_within_a_bound_and_healthz_stays_fast(
    live: LiveServer, gateway: FakeAIGateway, private_postgres: PostgresServer
) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as http:
        alice = configured_user(live, http, gateway, "alice")
        assert http.post("/v1/chat/completions", json=CHAT, headers=bearer(alice)).status_code == 200
        carol = live.create_user("carol")
        pids = private_postgres.freeze()
        try:
            assert http.get("/readyz", timeout=15).status_code == 503
            for _round in range(2):
                refused = http.post("/v1/chat/completions", json=CHAT, headers=bearer(carol), timeout=15)
                assert_database_503(refused, "v1")
                started = time.monotonic()
                assert http.get("/healthz").status_code == 200
                assert time.monotonic() - started < 2, "healthz waited on the frozen database"
                served = http.post("/v1/chat/completions", json=CHAT, headers=bearer(alice), timeout=15)
                assert served.status_code == 200, served.text
        finally:
            private_postgres.thaw(pids)
        assert http.post("/v1/chat/completions", json=CHAT, headers=bearer(carol)).status_code == 409


def test_serve_against_a_frozen_database_stops_with_one_line(tmp_path: Path, private_postgres: PostgresServer) -> None:
    url = private_postgres.create_database()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AI_GATEWAY_", "IDEAFORGE_"))}
    env = {
        **base,
        "IDEAFORGE_DATABASE_URL": url,
        "IDEAFORGE_ENCRYPTION_KEYS": KeyRing.generate_entry("k1"),
        "IDEAFORGE_DATABASE_TIMEOUT_SECONDS": "1",
    }
    serve = [str(Path(sys.executable).with_name("ideaforge")), "serve", "--port", str(free_port())]
    pids = private_postgres.freeze()
    try:
        # A generous bound that only catches a hang: the connect timeout is 1 s.
        done = subprocess.run(serve, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    finally:
        private_postgres.thaw(pids)
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("error: the database failed (") and "IDEAFORGE_DATABASE_URL" in line, line
