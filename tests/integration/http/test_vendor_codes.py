"""A credential echoed back by an upstream as its "error code" never reaches a message, an
answer or the stored `last_verification_error` (issue 18, case 7)."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import httpx
from aiohttp import web

from ideaforge_gateway.domain.errors import AuthenticationError, GatewayError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.vendor_codes import WITHHELD
from tests.integration.http.conftest import bearer
from tests.support.app import container_for
from tests.support.live_server import LiveServer
from tests.support.loopback_server import LoopbackServer

CLIENT_ID = "echoed_client_id"
CLIENT_SECRET = "echoed_client_secret"  # shaped like an OAuth error code on purpose
VENDOR_KEY = "echoedvendorkey"  # shaped like a vendor error code on purpose


def _echoing_upstream() -> web.Application:
    """Answers every request with 401 and, as its error code, the credential it was sent."""

    async def discovery(request: web.Request) -> web.Response:
        return web.json_response({"token_endpoint": f"http://{request.host}/oauth/token"})

    async def token(request: web.Request) -> web.Response:
        basic = request.headers.get("Authorization", "").removeprefix("Basic ")
        secret = base64.b64decode(basic).decode().split(":", 1)[1] if basic else ""
        return web.json_response({"error": secret}, status=401)

    async def chat(request: web.Request) -> web.Response:
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return web.json_response({"error": {"message": "no", "type": key, "code": key}}, status=401)

    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_post("/oauth/token", token)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", chat)
    return app


def test_an_echoed_credential_is_withheld_from_answers_and_the_store(tmp_path: Path) -> None:
    with LoopbackServer(_echoing_upstream()) as upstream:
        container = container_for(
            tmp_path,
            openai_api_key=VENDOR_KEY,
            openai_base_url=f"{upstream.url}/v1",
            ideaforge_allow_private_base_urls=True,
        )
        with LiveServer(container) as server:
            token = server.create_user("alice")
            configure = {
                "aiGatewayClientId": CLIENT_ID,
                "aiGatewayClientSecret": CLIENT_SECRET,
                "aiGatewayBaseUrl": upstream.url,
            }
            stored = httpx.post(f"{server.url}/api/providers/configure", json=configure, headers=bearer(token))
            verified = httpx.post(
                f"{server.url}/api/providers/verify", json={"provider": "ai_gateway"}, headers=bearer(token)
            )
            statuses = httpx.get(f"{server.url}/api/providers", headers=bearer(token))
            chat = httpx.post(
                f"{server.url}/v1/chat/completions",
                json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
                headers=bearer(token),
                timeout=30,
            )
            vendor = httpx.post(
                f"{server.url}/api/providers/verify", json={"provider": "openai"}, headers=bearer(token)
            )
    assert stored.status_code == 200, stored.text
    assert verified.json()["valid"] is False and WITHHELD in verified.json()["error"]
    assert vendor.json()["valid"] is False and WITHHELD in vendor.json()["error"]
    assert chat.status_code >= 400
    for answer in (verified, statuses, chat, vendor):
        assert CLIENT_SECRET not in answer.text and VENDOR_KEY not in answer.text, answer.text
    with sqlite3.connect(tmp_path / "data" / "ideaforge.db") as db:
        errors = [row[0] for row in db.execute("SELECT last_verification_error FROM user_api_keys")]
    assert errors and all(e and CLIENT_SECRET not in e and WITHHELD in e for e in errors), errors


def test_documented_codes_pass_and_other_words_are_withheld() -> None:
    kept = AuthenticationError(
        "OpenAI rejected the credentials (HTTP 401) (invalid_api_key)", provider=ProviderName.OPENAI
    )
    assert kept.message.endswith("(invalid_api_key)")
    gone = AuthenticationError("OpenAI rejected the credentials (HTTP 401) (sk_live_abc)", provider=ProviderName.OPENAI)
    assert "sk_live_abc" not in gone.message and WITHHELD in gone.message
    ours = GatewayError("no provider answered (see_attempts)")  # not a provider's: left as written
    assert ours.message.endswith("(see_attempts)")


def test_words_in_parentheses_that_are_not_codes_are_left_alone() -> None:
    error = GatewayError("OpenAI base URL is not an http(s) URL", provider=ProviderName.OPENAI)
    assert error.message == "OpenAI base URL is not an http(s) URL"
