"""Per-user catalogs over HTTP: a user whose own AI Gateway credentials name an instance sees,
is enriched from and is gated by THAT instance's catalog, asked with THEIR credentials at the
URL derived from THEIR environment and region; never the operator's catalog as theirs."""

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
from tests.support.fake_catalog import INSTANCE, FakeCatalog, Instance
from tests.support.fake_gateway_hosts import TEMPLATE, FakeGatewayHosts
from tests.support.live_server import LiveServer

SVC_SECRET = "svc-secret-canary"
BOB_SECRET = "bob-secret-canary"


def provider(name: str, classification: int, models: dict[str, tuple[float, float]]) -> dict[str, Any]:
    listed = [{"name": m, "cost": {"input_unit_cost": i, "output_unit_cost": o}} for m, (i, o) in models.items()]
    return {"name": name, "classification": classification, "endpoints": [{"slug": name, "models": listed}]}


# Alice's instance: gpt-4o-mini cheaper than on the operator's, gpt-4o Purple, no gpt-4.1.
ALICE = [provider("openai", 0, {"gpt-4o-mini": (0.1, 0.4)}), provider("azure", 3, {"gpt-4o": (5, 20)})]
BOB = [provider("anthropic", 1, {"claude-bob": (1, 2)})]


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_id="svc-client", client_secret=SVC_SECRET, accept_static_key=True) as server:
        yield server


@pytest.fixture
def catalog() -> Iterator[FakeCatalog]:
    instances = {
        "inst-2": Instance("svc-client", SVC_SECRET, ALICE),
        "inst-3": Instance("bob-client", BOB_SECRET, BOB),
    }
    with FakeCatalog(client_id="svc-client", client_secret=SVC_SECRET, instances=instances) as server:
        yield server


@pytest.fixture
def live(tmp_path: Path, gateway: FakeAIGateway, catalog: FakeCatalog) -> Iterator[LiveServer]:
    with (
        FakeGatewayHosts(gateway, instances=(INSTANCE, "inst-2", "inst-3")) as hosts,
        LiveServer(
            container_for(
                tmp_path,
                ai_gateway_client_id="svc-client",
                ai_gateway_client_secret=SVC_SECRET,
                ai_gateway_base_url=gateway.url,
                ai_gateway_enabled=True,
                ai_gateway_instance_id=INSTANCE,
                ai_gateway_route_template=TEMPLATE.format(url=hosts.url),
                ai_gateway_catalog_url=catalog.template,
                ai_gateway_max_classification="Yellow",
                ideaforge_allow_private_base_urls=True,
            )
        ) as server,
    ):
        server.hosts = hosts  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as http:
        yield http


def user_with(live: LiveServer, client: httpx.Client, name: str, **fields: Any) -> dict[str, str]:
    auth = bearer(live.create_user(name))
    stored = client.post("/api/providers/configure", json=fields, headers=auth)
    assert stored.status_code == 200, stored.text
    return auth


def alice(live: LiveServer, client: httpx.Client) -> dict[str, str]:
    return user_with(
        live, client, "alice", aiGatewayClientId="svc-client", aiGatewayClientSecret=SVC_SECRET,
        aiGatewayInstanceId="inst-2", aiGatewayRegion="eu", aiGatewayAuthMethod="static_key",
    )  # fmt: skip


def listed(client: httpx.Client, auth: dict[str, str]) -> list[tuple[str, str]]:
    answer = client.get("/api/models", params={"catalog": "true"}, headers=auth)
    assert answer.status_code == 200, answer.text
    return [(m["id"], m["classification"]) for m in answer.json()["models"]]


def test_two_users_each_see_their_own_instances_catalog(
    live: LiveServer, client: httpx.Client, catalog: FakeCatalog
) -> None:
    alice_auth = alice(live, client)
    bob_auth = user_with(
        live, client, "bob", aiGatewayClientId="bob-client", aiGatewayClientSecret=BOB_SECRET,
        aiGatewayInstanceId="inst-3", aiGatewayEnv="dev",
    )  # fmt: skip
    carol_auth = bearer(live.create_user("carol"))  # no credentials of her own: the operator's

    assert listed(client, alice_auth) == [("gpt-4o-mini", "Green")]  # gpt-4o is Purple, above Yellow
    assert listed(client, bob_auth) == [("claude-bob", "Yellow")]
    assert ("gpt-4.1", "Green") in listed(client, carol_auth)
    # Each catalog was asked at the URL derived from its owner's environment and region, with
    # the owner's instance (and, the fake checks, the owner's bearer: a wrong one is a 401).
    assert catalog.state.seen == [("eu.prod", "inst-2"), ("dev", "inst-3"), ("prod", INSTANCE)]


def test_own_credentials_without_an_instance_are_a_409_not_the_operators_catalog(
    live: LiveServer, client: httpx.Client, gateway: FakeAIGateway, catalog: FakeCatalog
) -> None:
    auth = user_with(
        live, client, "dave", aiGatewayClientId="svc-client", aiGatewayClientSecret=SVC_SECRET,
        aiGatewayBaseUrl=gateway.url,
    )  # fmt: skip
    answer = client.get("/api/models", params={"catalog": "true"}, headers=auth)
    assert answer.status_code == 409, answer.text
    assert "not an instance id" in answer.json()["error"] and SVC_SECRET not in answer.text
    assert catalog.state.requests == 0


def test_a_users_enrichment_skip_and_policy_use_their_own_catalog(
    live: LiveServer, client: httpx.Client, catalog: FakeCatalog
) -> None:
    auth = alice(live, client)
    listed(client, auth)  # reads (and caches) her catalog: the request path never waits on it
    models = {m["id"]: m for m in client.get("/api/models", headers=auth).json()["models"]}
    assert models["gpt-4o-mini"]["price"] == {"input": 0.1, "output": 0.4, "unit": "USD per million tokens"}

    hosts: FakeGatewayHosts = live.hosts  # type: ignore[attr-defined]
    assert [(hit.instance_id, hit.path) for hit in hosts.hits] == [("inst-2", "/v1/models")]
    sdk = openai.OpenAI(base_url=f"{live.url}/v1", api_key=auth["Authorization"][7:], max_retries=0, timeout=30)
    hello = [{"role": "user", "content": "hello"}]
    with pytest.raises(openai.NotFoundError) as missing:  # on the operator's catalog, not on hers
        sdk.chat.completions.create(model="gpt-4.1", messages=hello)  # type: ignore[arg-type]
    assert "'inst-2' does not offer model 'gpt-4.1'" in str(missing.value)
    with pytest.raises(openai.PermissionDeniedError) as refused:  # Green on the operator's, Purple on hers
        sdk.chat.completions.create(model="gpt-4o", messages=hello)  # type: ignore[arg-type]
    assert "classified Purple" in str(refused.value)
    assert len(hosts.hits) == 1  # neither was sent
    answer = sdk.chat.completions.create(model="gpt-4o-mini", messages=hello)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "echo: hello"
    assert [(hit.instance_id, hit.where, hit.path) for hit in hosts.hits[1:]] == [
        ("inst-2", "eu.prod", "/v1/chat/completions")
    ]
    assert {where for where, _ in catalog.state.seen} == {"eu.prod"}  # the operator's catalog never asked


def test_a_users_catalog_url_goes_through_the_public_only_guard(
    tmp_path: Path, gateway: FakeAIGateway, catalog: FakeCatalog
) -> None:
    container = container_for(
        tmp_path,
        ai_gateway_client_id="svc-client",
        ai_gateway_client_secret=SVC_SECRET,
        ai_gateway_base_url=gateway.url,
        ai_gateway_enabled=True,
        ai_gateway_instance_id=INSTANCE,
        ai_gateway_catalog_url=catalog.template,
    )
    with LiveServer(container) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        auth = alice(live, client)
        answer = client.get("/api/models", params={"catalog": "true"}, headers=auth)
        assert answer.status_code == 409, answer.text
        assert "model catalog refused" in answer.json()["error"] and "public addresses" in answer.json()["error"]
        assert catalog.state.requests == 0  # the loopback catalog was never reached with her secret
        assert ("gpt-4.1", "Green") in listed(client, bearer(live.create_user("carol")))  # the operator's: trusted
