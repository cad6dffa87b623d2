"""`ideaforge serve` announces only the server it started (issue 17): `/healthz` proves, for the
announcer's random challenge, that it holds this start's key, and an answer from any other
process on the port, however healthy it looks, is not taken for ours."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from ideaforge_gateway.entrypoints.cli.startup import answers_as
from ideaforge_gateway.entrypoints.http.start_proof import (
    CHALLENGE_HEADER,
    PROOF_HEADER,
    new_challenge,
    new_start_key,
    proof,
)
from tests.support.app import container_for
from tests.support.live_server import LiveServer


def test_healthz_proves_the_start_key_and_tells_nothing_about_the_process(tmp_path: Path) -> None:
    key = new_start_key()
    with LiveServer(container_for(tmp_path), start_key=key) as live, httpx.Client(base_url=live.url) as client:
        plain = client.get("/healthz")
        challenged = client.get("/healthz", headers={CHALLENGE_HEADER: "a-challenge"})
        oversized = client.get("/healthz", headers={CHALLENGE_HEADER: "x" * 129})
        ready = client.get("/readyz")
        assert answers_as("127.0.0.1", live.port, key)
        assert not answers_as("127.0.0.1", live.port, new_start_key())  # another start's key
    assert plain.json() == {"status": "ok"} and PROOF_HEADER not in plain.headers
    assert challenged.json() == {"status": "ok"}
    assert challenged.headers[PROOF_HEADER] == proof(key, "a-challenge")
    assert PROOF_HEADER not in oversized.headers
    assert ready.json() == {"status": "ready"}  # no process id, here either
    for answer in (plain, challenged, ready):
        assert key not in answer.text + json.dumps(dict(answer.headers))


def test_an_app_not_started_by_serve_proves_nothing(tmp_path: Path) -> None:
    with LiveServer(container_for(tmp_path)) as live:
        answer = httpx.get(f"{live.url}/healthz", headers={CHALLENGE_HEADER: new_challenge()})
        assert not answers_as("127.0.0.1", live.port, new_start_key())
    assert answer.status_code == 200 and PROOF_HEADER not in answer.headers


@contextmanager
def other_server(proof_for: Callable[[str], str | None]) -> Iterator[ThreadingHTTPServer]:
    """Another process's server on the port: 200 `{"status": "ok"}` on every GET, with the
    `PROOF_HEADER` that `proof_for(challenge)` makes up (none for None)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            made_up = proof_for(self.headers.get(CHALLENGE_HEADER) or "")
            body = b'{"status": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if made_up is not None:
                self.send_header(PROOF_HEADER, made_up)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_another_server_on_the_port_is_not_taken_for_ours() -> None:
    key = new_start_key()
    impostors: list[Callable[[str], str | None]] = [
        lambda _: None,  # a healthy answer without a proof
        lambda challenge: challenge,  # the challenge echoed
        lambda challenge: proof(new_start_key(), challenge),  # a proof under another key
        lambda _: proof(key, "a challenge seen before"),  # a proof replayed from another probe
    ]
    for impostor in impostors:
        with other_server(impostor) as server:
            assert httpx.get(f"http://127.0.0.1:{server.server_port}/healthz").status_code == 200
            assert not answers_as("127.0.0.1", server.server_port, key)
