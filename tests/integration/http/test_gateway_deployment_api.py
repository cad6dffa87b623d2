"""Instance ids over HTTP: the operator's, a user's through `POST /api/providers/configure`, and
the official `openai` SDK against our `/v1` reaching the instance's family routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.integration.http.conftest import bearer
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.fake_gateway_hosts import FakeGatewayHosts
from tests.support.live_server import LiveServer


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_id="svc-client", client_secret="svc-secret-canary", accept_static_key=True) as server:
        yield server


@pytest.fixture
def hosts(gateway: FakeAIGateway) -> Iterator[FakeGatewayHosts]:
    with FakeGatewayHosts(gateway, instances=("inst-1", "inst-2", "inst-3")) as server:
        yield server


@pytest.fixture
def live(tmp_path: Path, gateway: FakeAIGateway, hosts: FakeGatewayHosts) -> Iterator[LiveServer]:
    container = container_for(
        tmp_path,
        ai_gateway_client_id="svc-client",
        ai_gateway_client_secret="svc-secret-canary",
        ai_gateway_base_url=gateway.url,
        ai_gateway_enabled=True,
        ai_gateway_instance_id="inst-1",
        ai_gateway_route_template=hosts.template,
        ideaforge_allow_private_base_urls=True,
    )
    with LiveServer(container) as server:
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as http:
        yield http


def sdk(live: LiveServer, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key=token, max_retries=0, timeout=30)


def test_the_openai_sdk_reaches_the_instances_family_routes(live: LiveServer, hosts: FakeGatewayHosts) -> None:
    client = sdk(live, live.create_user("carol"))
    plain = client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi there"}])
    stream = client.chat.completions.create(
        model="azure/gpt-4o", messages=[{"role": "user", "content": "one two"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert plain.choices[0].message.content == "echo: hi there" and plain.model == "gpt-4o-mini"
    assert text == "echo: one two"
    assert [(hit.family, hit.instance_id, hit.path) for hit in hosts.hits] == [
        ("openai", "inst-1", "/v1/chat/completions"),
        ("azure", "inst-1", "/openai/deployments/gpt-4o/chat/completions"),
    ]


def configure(client: httpx.Client, token: str, **fields: Any) -> httpx.Response:
    return client.post("/api/providers/configure", json=fields, headers=bearer(token))


def test_a_user_stores_an_instance_and_uses_it(
    live: LiveServer, client: httpx.Client, gateway: FakeAIGateway, hosts: FakeGatewayHosts
) -> None:
    token = live.create_user("alice")
    stored = configure(
        client,
        token,
        aiGatewayClientId="svc-client",
        aiGatewayClientSecret="svc-secret-canary",
        aiGatewayInstanceId="inst-2",
        aiGatewayRegion="EU",
        aiGatewayAuthMethod="static_key",
        verify=True,
    )
    assert stored.status_code == 200, stored.text
    mine = next(p for p in client.get("/api/providers", headers=bearer(token)).json() if p["provider"] == "ai_gateway")
    assert (mine["source"], mine["instance_id"], mine["env"], mine["region"], mine["auth_method"]) == (
        "user", "inst-2", "prod", "eu", "static_key",
    )  # fmt: skip
    answer = sdk(live, token).chat.completions.create(model="fast", messages=[{"role": "user", "content": "hello"}])
    assert answer.choices[0].message.content == "echo: hello"
    assert [(hit.instance_id, hit.where, hit.path) for hit in hosts.hits] == [
        ("inst-2", "eu.prod", "/v1/models"),  # the verification
        ("inst-2", "eu.prod", "/v1/chat/completions"),
    ]
    assert {hit.credential for hit in hosts.hits} == {"svc-client:svc-secret-canary"}

    moved = configure(
        client, token, aiGatewayInstanceId="inst-3", aiGatewayRegion="eu", aiGatewayAuthMethod="static_key"
    )
    assert moved.status_code == 400
    assert moved.json()["param"] == "aiGatewayClientSecret" and "instance id changed" in moved.json()["error"]
    kept = configure(
        client, token, aiGatewayInstanceId="inst-2", aiGatewayRegion="eu", aiGatewayAuthMethod="static_key"
    )
    assert kept.status_code == 200, kept.text  # the same destination keeps the stored secret
    assert "svc-secret-canary" not in moved.text + kept.text


@pytest.mark.parametrize(
    ("fields", "param", "words"),
    [
        ({"aiGatewayInstanceId": "a/b"}, "aiGatewayInstanceId", "instance id must be"),
        ({"aiGatewayInstanceId": "inst-2", "aiGatewayEnv": "prod.evil.com"}, "aiGatewayEnv", "environment must be"),
        ({"aiGatewayInstanceId": "inst-2", "aiGatewayRegion": "eu/x"}, "aiGatewayRegion", "region must be"),
        (
            {"aiGatewayInstanceId": "inst-2", "aiGatewayRouteTemplate": "https://{family}.{tenant}.example.com"},
            "aiGatewayRouteTemplate",
            "unknown placeholder {tenant}",
        ),
        ({"aiGatewayRegion": "eu"}, "aiGatewayInstanceId", "applies only with an instance id"),
        ({"aiGatewayAuthMethod": "password"}, None, "aiGatewayAuthMethod: Input should be"),  # the body's schema
    ],
)
def test_bad_deployment_fields_are_a_400_naming_the_field(
    live: LiveServer, client: httpx.Client, fields: dict[str, str], param: str | None, words: str
) -> None:
    token = live.create_user("dave")
    answer = configure(
        client, token, aiGatewayClientId="svc-client", aiGatewayClientSecret="svc-secret-canary", **fields
    )
    assert answer.status_code == (400 if param else 422), answer.text
    assert answer.json().get("param") == param and words in answer.json()["error"]
    assert "svc-secret-canary" not in answer.text
