"""Streams end with an error event in their route's format when their caller's token is revoked,
and at the operator's maximum duration and size (issue 18, case 10)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dependency_injector import providers

from ideaforge_gateway.application.authenticator import Authenticator
from tests.integration.http.conftest import bearer
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer

KEY = "sk-stream-bounds"
ROUTES = {
    "/v1/chat/completions": lambda prompt: {
        "model": "gpt-4o",
        "stream": True,
        "messages": [{"role": "user", "content": prompt}],
    },
    "/api/generate": lambda prompt: {"prompt": prompt, "model": "gpt-4o", "stream": True},
}


@pytest.fixture
def upstream() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(api_key=KEY) as server:
        server.state.stream_gate = threading.Event()
        yield server
        server.state.stream_gate.set()


def _server(tmp_path: Path, upstream: FakeAIGateway, **settings: object) -> LiveServer:
    container = container_for(tmp_path, openai_api_key=KEY, openai_base_url=f"{upstream.url}/v1", **settings)
    # Every check asks the store: the 1 s cache would otherwise decide when the revocation shows.
    container.authenticator.override(providers.Singleton(Authenticator, container.user_store, ttl=0.0))
    return LiveServer(container)


def _error_of(route: str, lines: list[str]) -> dict[str, object]:
    data = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    if route.startswith("/v1/"):
        assert "data: [DONE]" not in lines
        error = data[-1]["error"]
        assert isinstance(error, dict)
        return {"message": error["message"], "kind": error["code"]}
    assert "event: error" in lines and "event: done" not in lines
    return {"message": data[-1]["error"], "kind": data[-1]["kind"]}


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_stream_ends_when_its_token_is_revoked(tmp_path: Path, upstream: FakeAIGateway, route: str) -> None:
    with _server(tmp_path, upstream, ideaforge_stream_recheck_seconds=0.0) as server:
        token = server.create_user("alice")
        lines: list[str] = []
        with httpx.stream(
            "POST", f"{server.url}{route}", json=ROUTES[route]("one two three"), headers=bearer(token), timeout=30
        ) as answer:
            assert answer.status_code == 200
            body = answer.iter_lines()
            lines.append(next(line for line in body if line.startswith("data: ")))  # content has begun
            assert server.container.user_store().revoke("alice")
            assert upstream.state.stream_gate is not None
            upstream.state.stream_gate.set()
            lines += list(body)
    error = _error_of(route, lines)
    assert error["kind"] == "unauthorized" and "revoked" in str(error["message"])


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_stream_ends_at_its_maximum_duration(tmp_path: Path, upstream: FakeAIGateway, route: str) -> None:
    # The upstream holds the stream open after its first words; it would wait 10 s.
    with _server(tmp_path, upstream, ideaforge_max_stream_seconds=0.5) as server:
        token = server.create_user("alice")
        answer = httpx.post(f"{server.url}{route}", json=ROUTES[route]("one two"), headers=bearer(token), timeout=30)
    error = _error_of(route, answer.text.splitlines())
    assert error["kind"] == "stream_limit" and "maximum duration of 0.5 s" in str(error["message"])


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_stream_ends_at_its_maximum_size(tmp_path: Path, upstream: FakeAIGateway, route: str) -> None:
    assert upstream.state.stream_gate is not None
    upstream.state.stream_gate.set()
    with _server(tmp_path, upstream, ideaforge_max_stream_bytes=2048) as server:
        token = server.create_user("alice")
        prompt = " ".join(f"word{i}" for i in range(400))
        answer = httpx.post(f"{server.url}{route}", json=ROUTES[route](prompt), headers=bearer(token), timeout=30)
    assert len(answer.content) <= 2048 + 300  # the limit, and the error event after it
    error = _error_of(route, answer.text.splitlines())
    assert error["kind"] == "stream_limit" and "maximum size of 2048 bytes" in str(error["message"])
