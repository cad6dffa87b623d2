"""Private CAs and egress proxies, as an operator inside a corporate network meets them: an https
AI Gateway on 127.0.0.1 whose certificate a CA made here signed, trusted only through each
supported way, on the token path (`verify`: token, then models) and the chat path; and an
egress proxy on 127.0.0.1 that must see the operator's traffic."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ideaforge_gateway.adapters.http.client import HttpTimeouts, build_http_client
from ideaforge_gateway.adapters.http.network import ProxyRules, build_ssl_context
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.domain.errors import ConfigurationError, ProviderUnavailableError
from tests.integration.test_ai_gateway_client import ask, collect, gateway_client
from tests.support.egress_proxy import EgressProxy
from tests.support.fake_ai_gateway import MODELS, FakeAIGateway
from tests.support.private_ca import PrivateCA, make_private_ca

TIMEOUTS = HttpTimeouts(connect=2.0, read=5.0)
ENV_TRUST = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
ENV_PROXY = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy", "ALL_PROXY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the machine's environment decides what these tests trust or proxy."""
    for name in (*ENV_TRUST, *ENV_PROXY):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ca(tmp_path: Path) -> PrivateCA:
    return make_private_ca(tmp_path / "ca")


@pytest.fixture
def tls_gateway(ca: PrivateCA) -> Iterator[FakeAIGateway]:
    with FakeAIGateway(tls=ca.server) as server:
        yield server


@pytest.fixture
def proxy() -> Iterator[EgressProxy]:
    with EgressProxy() as server:
        yield server


async def transport(**options: object) -> HttpTransport:
    return HttpTransport(build_http_client(TIMEOUTS, **options))  # type: ignore[arg-type]


@pytest.fixture
async def closing() -> AsyncIterator[list[HttpTransport]]:
    made: list[HttpTransport] = []
    yield made
    for each in made:
        await each.aclose()


async def token_and_chat(http: HttpTransport, gateway: FakeAIGateway) -> None:
    """The token path (discovery, client credentials, then the model list), then chat and a stream."""
    models = await gateway_client(http, gateway).verify()
    assert [m.id for m in models] == MODELS
    reply = await gateway_client(http, gateway).chat(ask("through the corporate network"))
    assert reply.content == "echo: through the corporate network"
    deltas = await collect(gateway_client(http, gateway), ask("streamed too"))
    assert "".join(d.content or "" for d in deltas) == "echo: streamed too"
    assert gateway.state.token_requests >= 1


def hashed_directory(ca: PrivateCA, directory: Path) -> Path:
    """A c_rehash-style directory: the CA under `<subject hash>.0`, as OpenSSL looks it up."""
    assert shutil.which("openssl"), "the openssl command makes the subject-hash name"
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(ca.ca_pem)], check=True, capture_output=True, text=True
    ).stdout.strip()
    directory.mkdir()
    (directory / f"{subject_hash}.0").write_bytes(ca.ca_pem.read_bytes())
    return directory


# Trust.


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
async def test_private_ca_trusted_through_a_bundle_variable(
    variable: str,
    ca: PrivateCA,
    tls_gateway: FakeAIGateway,
    monkeypatch: pytest.MonkeyPatch,
    closing: list[HttpTransport],
) -> None:
    monkeypatch.setenv(variable, str(ca.ca_pem))
    closing.append(http := await transport())
    await token_and_chat(http, tls_gateway)


async def test_private_ca_trusted_through_ssl_cert_dir(
    ca: PrivateCA,
    tls_gateway: FakeAIGateway,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    closing: list[HttpTransport],
) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", str(hashed_directory(ca, tmp_path / "certs")))
    closing.append(http := await transport())
    await token_and_chat(http, tls_gateway)


async def test_private_ca_trusted_through_the_product_setting(
    ca: PrivateCA, tls_gateway: FakeAIGateway, closing: list[HttpTransport]
) -> None:
    closing.append(http := await transport(ssl_context=build_ssl_context(str(ca.ca_pem))))
    await token_and_chat(http, tls_gateway)


async def test_untrusted_certificate_is_reported_as_such_and_logged(
    tls_gateway: FakeAIGateway, closing: list[HttpTransport], caplog: pytest.LogCaptureFixture
) -> None:
    closing.append(http := await transport())
    with caplog.at_level(logging.WARNING), pytest.raises(ProviderUnavailableError) as raised:
        await gateway_client(http, tls_gateway).verify()
    message = str(raised.value)
    assert "certificate verify failed for 127.0.0.1: " in message
    assert "IDEAFORGE_CA_BUNDLE (or SSL_CERT_FILE)" in message
    assert raised.value.looks_down  # the next provider is tried, as for a connection failure
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("certificate verify failed for 127.0.0.1" in line for line in warnings)
    # Chat fails the same way, and nothing reached the gateway's endpoints.
    with pytest.raises(ProviderUnavailableError, match="certificate verify failed"):
        await gateway_client(http, tls_gateway).chat(ask("hello"))
    assert tls_gateway.state.token_requests == 0


def test_unreadable_ca_setting_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigurationError, match=r"IDEAFORGE_CA_BUNDLE=.*missing\.pem cannot be used as CA certificates"
    ):
        build_ssl_context(str(tmp_path / "missing.pem"))


# Proxy.


async def test_operator_http_upstream_goes_through_the_environment_proxy(
    gateway: FakeAIGateway, proxy: EgressProxy, monkeypatch: pytest.MonkeyPatch, closing: list[HttpTransport]
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)  # lower case, as curl and urllib read it first
    closing.append(http := await transport(proxy=ProxyRules.from_settings()))
    await token_and_chat(http, gateway)
    assert f"POST {gateway.url}/oauth/token" in proxy.seen


async def test_operator_https_upstream_is_tunnelled_through_the_proxy(
    ca: PrivateCA,
    tls_gateway: FakeAIGateway,
    proxy: EgressProxy,
    monkeypatch: pytest.MonkeyPatch,
    closing: list[HttpTransport],
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_pem))
    closing.append(http := await transport(proxy=ProxyRules.from_settings()))
    await token_and_chat(http, tls_gateway)
    assert f"CONNECT 127.0.0.1:{tls_gateway.server.port}" in proxy.seen


async def test_no_proxy_hosts_bypass_the_proxy(
    gateway: FakeAIGateway, proxy: EgressProxy, monkeypatch: pytest.MonkeyPatch, closing: list[HttpTransport]
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.internal,127.0.0.1")
    closing.append(http := await transport(proxy=ProxyRules.from_settings()))
    await token_and_chat(http, gateway)
    assert proxy.seen == []


async def test_product_setting_overrides_the_environment(
    gateway: FakeAIGateway, proxy: EgressProxy, monkeypatch: pytest.MonkeyPatch, closing: list[HttpTransport]
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens: using it would fail
    monkeypatch.setenv("NO_PROXY", "*")
    closing.append(http := await transport(proxy=ProxyRules.from_settings(http_proxy=proxy.url)))
    await token_and_chat(http, gateway)
    assert f"POST {gateway.url}/oauth/token" in proxy.seen


async def test_proxy_credentials_are_sent_to_the_proxy_and_never_shown(
    gateway: FakeAIGateway, proxy: EgressProxy, closing: list[HttpTransport], caplog: pytest.LogCaptureFixture
) -> None:
    with_user = proxy.url.replace("http://", "http://egress:pr0xy-s3cret@")
    closing.append(http := await transport(proxy=ProxyRules.from_settings(http_proxy=with_user)))
    await token_and_chat(http, gateway)
    assert proxy.proxy_authorization and proxy.proxy_authorization[0].startswith("Basic ")
    assert "pr0xy-s3cret" not in repr(http.client)

    dead = "http://egress:pr0xy-s3cret@127.0.0.1:9"
    closing.append(broken := await transport(proxy=ProxyRules.from_settings(http_proxy=dead)))
    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderUnavailableError) as raised:
        await gateway_client(broken, gateway).verify()
    assert "egress proxy" in str(raised.value)
    assert "pr0xy-s3cret" not in str(raised.value)
    assert "pr0xy-s3cret" not in caplog.text
