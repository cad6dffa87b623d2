"""Model ids: refused by name before any upstream is called, and whatever an upstream answers
with never breaks the headers this product writes (issue 18, case 5)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.integration.http.conftest import bearer
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer
from tests.support.loopback_server import LoopbackServer

OPENAI_KEY = "sk-model-ids"
BAD_MODELS = [
    "gpt-4o\r\nX-Injected: 1",
    "gpt-4o\n",
    "gemini-2.5-pro\n",  # Gemini puts the id in its URL path
    "gpt-4o\x00",
    "модель",
    "gpt 4o",
    "g" * 257,
]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveServer, str, FakeAIGateway]]:
    with FakeAIGateway(api_key=OPENAI_KEY) as openai:
        container = container_for(
            tmp_path,
            openai_api_key=OPENAI_KEY,
            openai_base_url=f"{openai.url}/v1",
            gemini_api_key="gemini-model-ids",
            gemini_base_url=openai.url,
            ideaforge_allow_private_base_urls=True,
        )
        with LiveServer(container) as server:
            yield server, server.create_user("mallory"), openai


@pytest.mark.parametrize("model", BAD_MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_a_bad_model_id_is_a_400_naming_model_before_any_upstream_call(
    live: tuple[LiveServer, str, FakeAIGateway], model: str, stream: bool
) -> None:
    server, token, upstream = live
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    answer = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=bearer(token), timeout=30)
    assert answer.status_code in (400, 422), answer.text
    error = answer.json()["error"]
    assert error["param"] == "model" if answer.status_code == 400 else error["message"].startswith("model")
    assert model not in answer.text
    generated = httpx.post(
        f"{server.url}/api/generate", json={"prompt": "hi", "model": model}, headers=bearer(token), timeout=30
    )
    assert generated.status_code in (400, 422), generated.text
    assert upstream.state.chat_requests == 0


def test_a_stored_default_model_is_checked_at_configure(live: tuple[LiveServer, str, FakeAIGateway]) -> None:
    server, token, upstream = live
    body = {
        "aiGatewayClientId": "id",
        "aiGatewayClientSecret": "secret",
        "aiGatewayBaseUrl": upstream.url,
        "aiGatewayDefaultModel": "gpt-4o\r\nX-Injected: 1",
    }
    answer = httpx.post(f"{server.url}/api/providers/configure", json=body, headers=bearer(token), timeout=30)
    assert answer.status_code == 400
    assert "default_model" in answer.json()["error"]


def _weird_upstream(model: str) -> web.Application:
    async def chat(request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        return web.json_response(
            {
                "id": "chatcmpl-weird",
                "object": "chat.completion",
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": body["model"]}, "finish_reason": "stop"}
                ],
            }
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


@pytest.mark.parametrize("answered", ["gpt-4o\r\nX-Injected: 1", "gpt-4o-ünï-模型", "gpt-4o\x7f\x00", " x%41 "])
def test_an_upstream_answering_with_any_model_id_leaves_the_answer_whole(tmp_path: Path, answered: str) -> None:
    with LoopbackServer(_weird_upstream(answered)) as upstream:
        container = container_for(tmp_path, openai_api_key="sk-weird", openai_base_url=f"{upstream.url}/v1")
        with LiveServer(container) as server:
            token = server.create_user("alice")
            body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
            answer = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=bearer(token), timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == answered  # the body is JSON: it carries the value as it was
    header = answer.headers["X-IdeaForge-Model"]
    assert header.isascii() and header.isprintable() and "\n" not in header
    assert "X-Injected" not in answer.headers
    assert answer.headers["X-IdeaForge-Provider"] == "openai"
