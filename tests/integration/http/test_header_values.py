"""Values that end up in HTTP headers: operator secrets with surrounding whitespace work, and a
value that cannot be a header at request time is a provider failure that falls over, never a
500 (issue 18, case 6)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from aiohttp import web
from pydantic import ValidationError

from ideaforge_gateway.entrypoints.settings import Settings
from tests.integration.http.conftest import bearer
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer
from tests.support.loopback_server import LoopbackServer

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("padding", ["\n", "\r\n", " ", "\t\n"])
def test_operator_secrets_with_surrounding_whitespace_work(tmp_path: Path, padding: str) -> None:
    with FakeAIGateway(api_key="sk-env-key", client_id="env-id", client_secret="env-secret") as upstream:
        container = container_for(
            tmp_path,
            openai_api_key=f"sk-env-key{padding}",
            openai_base_url=f"{upstream.url}/v1",
            ai_gateway_client_id=f"{padding}env-id{padding}",
            ai_gateway_client_secret=f"env-secret{padding}",
            ai_gateway_base_url=upstream.url,
        )
        with LiveServer(container) as server:
            token = server.create_user("op")
            chat = httpx.post(f"{server.url}/v1/chat/completions", json=CHAT, headers=bearer(token), timeout=30)
            models = httpx.get(f"{server.url}/api/models", headers=bearer(token), timeout=30)
    assert chat.status_code == 200, chat.text
    assert chat.headers["X-IdeaForge-Provider"] == "openai"
    assert models.status_code == 200 and models.json()["models"]


@pytest.mark.parametrize("field", ["openai_api_key", "ai_gateway_client_secret", "gemini_api_key"])
def test_an_operator_secret_that_cannot_be_a_header_is_refused_at_start_without_its_value(field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, **{field: "sk-inner\nline-canary"})
    problem = caught.value.errors()[0]
    assert problem["loc"] == (field,) and "printable ASCII" in problem["msg"]
    assert "canary" not in problem["msg"]


def _gateway_issuing(access_token: str) -> web.Application:
    """An OAuth2 server whose tokens cannot be sent as a header (a CR/LF, a non-Latin-1 letter)."""

    async def discovery(request: web.Request) -> web.Response:
        return web.json_response({"token_endpoint": f"http://{request.host}/oauth/token"})

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": access_token, "token_type": "Bearer", "expires_in": 3600})

    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_post("/oauth/token", token)
    return app


# A CR/LF in a token is refused by aiohttp before anything is sent: the transport maps it to
# ProviderUnavailableError, so the next provider answers (it was a 500 before issue 12).
@pytest.mark.parametrize(
    "access_token",
    [
        "tok\r\nX-Injected: 1",
        "tok-ünï-模型",
    ],
)
def test_a_token_that_cannot_be_a_header_falls_over_to_the_next_provider(tmp_path: Path, access_token: str) -> None:
    with (
        LoopbackServer(_gateway_issuing(access_token)) as gateway,
        FakeAIGateway(api_key="sk-fallback") as openai,
    ):
        container = container_for(
            tmp_path,
            ai_gateway_enabled=True,
            ai_gateway_client_id="id",
            ai_gateway_client_secret="secret",
            ai_gateway_base_url=gateway.url,
            openai_api_key="sk-fallback",
            openai_base_url=f"{openai.url}/v1",
        )
        with LiveServer(container) as server:
            token = server.create_user("op")
            chat = httpx.post(f"{server.url}/v1/chat/completions", json=CHAT, headers=bearer(token), timeout=30)
            streamed = httpx.post(
                f"{server.url}/v1/chat/completions", json={**CHAT, "stream": True}, headers=bearer(token), timeout=30
            )
    assert chat.status_code == 200, chat.text
    assert chat.headers["X-IdeaForge-Provider"] == "openai"
    assert chat.headers["X-IdeaForge-Attempts"] == "2"
    assert streamed.status_code == 200 and "[DONE]" in streamed.text
