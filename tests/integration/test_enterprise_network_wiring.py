"""The settings reach the process's two clients: the operator's URLs go through the proxy, users'
own base URLs only when IDEAFORGE_PROXY_USER_BASE_URLS says so, and then the public-only rule
still applies to the destination and never to the (private) proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from yarl import URL

from ideaforge_gateway.adapters.http.client import HttpTimeouts, build_http_client
from ideaforge_gateway.adapters.http.network import ProxyRules
from ideaforge_gateway.adapters.http.public_only import BlockedAddressError, PublicOnlyResolver
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.domain.errors import ConfigurationError
from ideaforge_gateway.entrypoints.container import Container
from tests.integration.test_ai_gateway_client import gateway_client
from tests.integration.test_enterprise_network import ENV_PROXY, ENV_TRUST, token_and_chat
from tests.support.cli import run_cli
from tests.support.egress_proxy import EgressProxy
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.private_ca import make_private_ca


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*ENV_TRUST, *ENV_PROXY):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDEAFORGE_ALLOW_PRIVATE_BASE_URLS", "true")  # users' URLs on loopback


@pytest.fixture
def proxy() -> Iterator[EgressProxy]:
    with EgressProxy() as server:
        yield server


async def through(transport: HttpTransport, gateway: FakeAIGateway) -> None:
    try:
        await token_and_chat(transport, gateway)
    finally:
        await transport.aclose()


async def test_operator_urls_use_the_proxy_and_users_urls_do_not_by_default(
    gateway: FakeAIGateway, proxy: EgressProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    container = Container()
    await through(container.user_url_transport(), gateway)
    assert proxy.seen == []
    await through(container.transport(), gateway)
    assert f"POST {gateway.url}/oauth/token" in proxy.seen


async def test_users_urls_use_the_proxy_when_the_operator_says_so(
    gateway: FakeAIGateway, proxy: EgressProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDEAFORGE_HTTP_PROXY", proxy.url)
    monkeypatch.setenv("IDEAFORGE_PROXY_USER_BASE_URLS", "true")
    await through(Container().user_url_transport(), gateway)
    assert f"POST {gateway.url}/oauth/token" in proxy.seen


async def test_the_ca_setting_reaches_both_clients(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = make_private_ca(tmp_path)
    monkeypatch.setenv("IDEAFORGE_CA_BUNDLE", str(ca.ca_pem))
    container = Container()
    with FakeAIGateway(tls=ca.server) as gateway:
        await through(container.transport(), gateway)
        await through(container.user_url_transport(), gateway)


async def test_public_only_checks_the_destination_not_the_proxy(proxy: EgressProxy) -> None:
    # A private proxy (127.0.0.1) is allowed; a destination resolving to loopback is not, even
    # though the proxy, not this process, would connect to it.
    client = build_http_client(
        HttpTimeouts(connect=2.0, read=5.0),
        public_only=True,
        proxy=ProxyRules.from_settings(https_proxy=proxy.url.replace("http://", "http://u:p@")),
    )
    transport = HttpTransport(client)
    try:
        with pytest.raises(BlockedAddressError, match="localhost resolves to not a public address"):
            await client.route(URL("https://localhost:8443/v1/models"))
        gateway = FakeAIGateway()
        with pytest.raises(ConfigurationError, match="must be https and reach public addresses"):
            await gateway_client(transport, gateway).verify()  # http://127.0.0.1: refused before leaving
    finally:
        await transport.aclose()
    assert proxy.seen == []


async def test_a_users_url_naming_the_proxy_host_directly_is_still_checked() -> None:
    # NO_PROXY sends it direct, where the connector's resolver exempts the proxy's name: the
    # client checks it itself.
    rules = ProxyRules.from_settings(https_proxy="http://localhost:3128", no_proxy="localhost")
    client = build_http_client(public_only=True, proxy=rules)
    with pytest.raises(BlockedAddressError, match="localhost resolves to not a public address"):
        await client.route(URL("https://localhost:3128/v1"))
    await client.aclose()


async def test_the_resolver_exempts_only_the_proxy_names() -> None:
    exempt = PublicOnlyResolver(exempt=frozenset({"localhost"}))
    assert await exempt.resolve("localhost", 3128)
    with pytest.raises(OSError, match="not a public address"):
        await PublicOnlyResolver().resolve("localhost", 3128)
    await exempt.close()


def test_proxy_rules_read_either_case_and_redact() -> None:
    rules = ProxyRules.from_settings(
        environ={"https_proxy": "http://u:secret@proxy.corp:3128", "NO_PROXY": ".internal,10.1.2.3"}
    )
    assert rules.proxy_for(URL("https://api.openai.com/v1")) == "http://u:secret@proxy.corp:3128"
    assert rules.proxy_for(URL("https://gw.internal/v1")) is None
    assert rules.proxy_for(URL("https://10.1.2.3/v1")) is None
    assert rules.proxy_for(URL("http://api.openai.com/v1")) is None  # no http proxy named
    assert "secret" not in rules.describe()
    assert "proxy.corp:3128" in rules.describe()
    upper = ProxyRules.from_settings(environ={"HTTP_PROXY": "http://p:8080"})
    assert upper.proxy_for(URL("http://gw.example/")) == "http://p:8080"


def test_serve_refuses_an_unreadable_ca_setting_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "corporate-ca.pem"
    result = run_cli(
        "serve",
        "--port",
        "18977",
        env={"IDEAFORGE_CA_BUNDLE": str(missing), "IDEAFORGE_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
    )
    assert result.code == 1
    assert result.stderr.strip() == (
        f"error: IDEAFORGE_CA_BUNDLE={missing} cannot be used as CA certificates: No such file or directory"
    )
