"""The seed's API through real HTTP: bodies as the seed shows them, auth, isolation, no secrets."""

from __future__ import annotations

import json

import httpx

from tests.integration.http.conftest import bearer
from tests.support.fake_ai_gateway import MODELS, FakeAIGateway
from tests.support.live_server import LiveServer

SECRETS = ("alice-secret-canary", "alice-client-canary", "env-secret-canary", "sk-env-openai-canary")


def configure_alice(client: httpx.Client, token: str, gateway: FakeAIGateway, **extra: object) -> httpx.Response:
    body = {
        "aiGatewayClientId": gateway.state.client_id,
        "aiGatewayClientSecret": gateway.state.client_secret,
        "aiGatewayBaseUrl": gateway.url,
        "aiGatewayDefaultModel": "gpt-4.1",
        **extra,
    }
    return client.post("/api/providers/configure", json=body, headers=bearer(token))


def assert_no_secret(*responses: httpx.Response) -> None:
    for response in responses:
        text = response.text + json.dumps(dict(response.headers))
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked in {response.request.url}"


def test_health_and_docs_need_no_token(client: httpx.Client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "IdeaForge provider gateway"


def test_every_other_route_needs_a_token(client: httpx.Client) -> None:
    for method, path in [
        ("POST", "/api/providers/verify"),
        ("POST", "/api/providers/configure"),
        ("GET", "/api/providers"),
        ("DELETE", "/api/providers/openai"),
        ("GET", "/api/models"),
        ("POST", "/api/generate"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
    ]:
        response = client.request(method, path, json={})
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
    bad = client.get("/api/providers", headers=bearer("ifg_not-a-real-token"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid or revoked API token"


def test_verify_with_the_seeds_body_stores_nothing(
    server: LiveServer, client: httpx.Client, user_gateway: FakeAIGateway
) -> None:
    token = server.create_user("alice")
    body = {
        "provider": "ai_gateway",
        "api_key": user_gateway.state.client_id,
        "client_secret": user_gateway.state.client_secret,
        "base_url": user_gateway.url,
    }
    ok = client.post("/api/providers/verify", json=body, headers=bearer(token))
    assert ok.status_code == 200
    assert ok.json() == {
        "valid": True, "provider": "ai_gateway", "models": MODELS, "error": None, "note": None, "warnings": []
    }  # fmt: skip
    wrong = client.post("/api/providers/verify", json={**body, "client_secret": "wrong-secret"}, headers=bearer(token))
    assert wrong.status_code == 200 and wrong.json()["valid"] is False
    assert "invalid_client" in wrong.json()["error"]
    listed = client.get("/api/providers", headers=bearer(token)).json()
    assert next(p for p in listed if p["provider"] == "ai_gateway")["source"] == "environment"
    assert_no_secret(ok, wrong)


def test_configure_then_generate_with_the_users_gateway(
    server: LiveServer, client: httpx.Client, user_gateway: FakeAIGateway
) -> None:
    token = server.create_user("alice")
    configured = configure_alice(client, token, user_gateway, verify=True)
    assert configured.status_code == 200, configured.text
    assert configured.json()["configured"] == ["ai_gateway"]
    status = next(p for p in configured.json()["providers"] if p["provider"] == "ai_gateway")
    assert status["source"] == "user" and status["usable"] and status["default_model"] == "gpt-4.1"

    answer = client.post("/api/generate", json={"prompt": "hello", "tier": "fast"}, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["content"] == "echo: hello"
    assert answer.json()["model"] == "gpt-4.1"  # her default model wins over the tier
    assert [a["outcome"] for a in answer.json()["attempts"]] == ["ok"]

    models = client.get("/api/models", headers=bearer(token)).json()["models"]
    assert [m["id"] for m in models] == MODELS
    assert_no_secret(configured, answer)


def test_generate_streams_server_sent_events(
    server: LiveServer, client: httpx.Client, user_gateway: FakeAIGateway
) -> None:
    token = server.create_user("alice")
    configure_alice(client, token, user_gateway)
    with client.stream("POST", "/api/generate", json={"prompt": "a b c", "stream": True}, headers=bearer(token)) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    events = [block for block in body.split("\n\n") if block]
    deltas = [json.loads(e.split("data: ", 1)[1])["content"] for e in events if e.startswith("event: delta")]
    assert "".join(deltas) == "echo: a b c"
    done = json.loads(events[-1].split("data: ", 1)[1])
    assert (
        events[-1].startswith("event: done")
        and done["provider"] == "ai_gateway"
        and done["usage"]["total_tokens"] == 18
    )


def test_users_are_isolated(server: LiveServer, client: httpx.Client, user_gateway: FakeAIGateway) -> None:
    alice = server.create_user("alice")
    bob = server.create_user("bob")
    configure_alice(client, alice, user_gateway)

    bobs = client.get("/api/providers", headers=bearer(bob)).json()
    assert next(p for p in bobs if p["provider"] == "ai_gateway")["source"] == "environment"
    # The environment's gateway is not enabled, so bob has no provider at all.
    denied = client.post("/api/generate", json={"prompt": "hi"}, headers=bearer(bob))
    assert denied.status_code == 409 and "AI_GATEWAY_ENABLED is not true" in denied.json()["error"]
    assert client.delete("/api/providers/ai_gateway", headers=bearer(bob)).status_code == 404
    assert user_gateway.state.chat_requests == 0
    # Bob's verify without credentials checks his (the environment's), never alice's.
    verified = client.post("/api/providers/verify", json={"provider": "ai_gateway"}, headers=bearer(bob)).json()
    assert user_gateway.state.token_requests == 0 and verified["valid"] is True


def test_disable_enable_and_delete(server: LiveServer, client: httpx.Client, user_gateway: FakeAIGateway) -> None:
    token = server.create_user("alice")
    configure_alice(client, token, user_gateway)
    disabled = client.patch("/api/providers/ai_gateway", json={"enabled": False}, headers=bearer(token))
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False and not disabled.json()["usable"]
    assert client.post("/api/generate", json={"prompt": "x"}, headers=bearer(token)).status_code == 409
    client.patch("/api/providers/ai_gateway", json={"enabled": True}, headers=bearer(token))
    assert client.post("/api/generate", json={"prompt": "x"}, headers=bearer(token)).status_code == 200
    assert client.delete("/api/providers/ai_gateway", headers=bearer(token)).status_code == 204
    assert client.delete("/api/providers/ai_gateway", headers=bearer(token)).status_code == 404


def test_changing_the_default_model_keeps_the_stored_secret(
    server: LiveServer, client: httpx.Client, user_gateway: FakeAIGateway
) -> None:
    token = server.create_user("alice")
    configure_alice(client, token, user_gateway)
    changed = client.post(
        "/api/providers/configure",
        json={"aiGatewayClientId": user_gateway.state.client_id, "aiGatewayDefaultModel": "gpt-4o-mini",
              "aiGatewayBaseUrl": user_gateway.url},
        headers=bearer(token),
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert client.post("/api/generate", json={"prompt": "x"}, headers=bearer(token)).json()["model"] == "gpt-4o-mini"


def test_bad_input_is_a_clear_4xx(server: LiveServer, client: httpx.Client) -> None:
    token = server.create_user("alice")
    h = bearer(token)
    cases = [
        client.post("/api/providers/configure", json={}, headers=h),
        client.post("/api/providers/configure", json={"aiGatewayClientSecret": "only-a-secret"}, headers=h),
        client.post("/api/providers/configure", json={"openaiApiKey": "k", "surprise": 1}, headers=h),
        client.post("/api/providers/verify", json={"provider": "nope"}, headers=h),
        client.post("/api/generate", json={"prompt": ""}, headers=h),
        client.post("/api/generate", content=b"{not json", headers={**h, "content-type": "application/json"}),
        client.post(
            "/api/generate", content=b'{"prompt": "\xff\xfe"}', headers={**h, "content-type": "application/json"}
        ),
        client.post(
            "/api/generate", content=b"x" * (21 * 1024 * 1024), headers={**h, "content-type": "application/json"}
        ),
        client.post("/v1/chat/completions", json={"model": "fast", "messages": []}, headers=h),
        client.post("/v1/chat/completions", json={"model": "fast", "messages": [{"role": "user"}] * 3000}, headers=h),
        client.patch("/api/providers/openai", json={"enabled": "maybe"}, headers=h),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.request.url, response.status_code, response.text)
        assert response.json()  # a message, in JSON
    assert cases[7].status_code == 413


def test_verifying_stored_credentials_updates_the_status_at_once(
    server: LiveServer, client: httpx.Client, user_gateway: FakeAIGateway
) -> None:
    token = server.create_user("alice")
    configure_alice(client, token, user_gateway)
    before = next(
        p for p in client.get("/api/providers", headers=bearer(token)).json() if p["provider"] == "ai_gateway"
    )
    assert before["last_verification_ok"] is None
    verified = client.post("/api/providers/verify", json={"provider": "ai_gateway"}, headers=bearer(token))
    assert verified.json()["valid"] is True
    after = next(p for p in client.get("/api/providers", headers=bearer(token)).json() if p["provider"] == "ai_gateway")
    assert after["last_verification_ok"] is True and after["last_verified_at"] is not None


def test_a_configure_naming_several_providers_stores_all_or_none(
    server: LiveServer, client: httpx.Client, user_gateway: FakeAIGateway
) -> None:
    token = server.create_user("alice")
    # The gateway's credentials pass (verified first), OpenAI's key after them does not.
    refused = configure_alice(client, token, user_gateway, verify=True, openaiApiKey="sk-bad key\u0007")
    assert refused.status_code == 200, refused.text
    answer = refused.json()
    assert answer["configured"] == []
    assert set(answer["errors"]) == {"ai_gateway", "openai"}
    assert "all or none" in answer["errors"]["ai_gateway"] and "openai" in answer["errors"]["ai_gateway"]
    listed = {p["provider"]: p for p in client.get("/api/providers", headers=bearer(token)).json()}
    assert listed["ai_gateway"]["source"] == "environment" and listed["openai"]["source"] is None
    stored = configure_alice(client, token, user_gateway, openaiApiKey="sk-good-key")
    assert stored.status_code == 200 and stored.json()["configured"] == ["ai_gateway", "openai"], stored.text
    assert stored.json()["errors"] == {}


def test_verifying_the_environments_switched_off_gateway_says_requests_do_not_use_it(
    server: LiveServer, client: httpx.Client
) -> None:
    token = server.create_user("alice")
    answer = client.post("/api/providers/verify", json={"provider": "ai_gateway"}, headers=bearer(token)).json()
    assert answer["valid"] is True
    assert "AI_GATEWAY_ENABLED is not true" in answer["note"]
