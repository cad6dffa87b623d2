"""URLs that users supply reach only public addresses over https: checked as connected."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import SecretStr
from yarl import URL

from ideaforge_gateway.adapters.http.client import build_http_client
from ideaforge_gateway.adapters.http.public_only import PublicOnlyResolver
from ideaforge_gateway.adapters.http.token_auth import HeaderAuth
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.domain.errors import ConfigurationError
from ideaforge_gateway.domain.models import ProviderName
from tests.support.fake_ai_gateway import FakeAIGateway


class FixedResolver(AbstractResolver):
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0) for a in self.addresses
        ]

    async def close(self) -> None:
        return None


async def test_names_resolving_to_public_addresses_pass() -> None:
    results = await PublicOnlyResolver(FixedResolver("93.184.215.14", "2606:2800:21f:cb07::1")).resolve(
        "example.com", 443
    )
    assert [r["host"] for r in results] == ["93.184.215.14", "2606:2800:21f:cb07::1"]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "::ffff:192.168.0.1",
        "::127.0.0.1",
        "2002:7f00:1::",
        "64:ff9b::7f00:1",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
    ],
)
async def test_a_name_with_any_non_public_address_is_refused(address: str) -> None:
    with pytest.raises(OSError, match="not a public address"):
        await PublicOnlyResolver(FixedResolver("93.184.215.14", address)).resolve("rebind.example", 443)


def _refused_urls(gateway: FakeAIGateway, path: str) -> list[URL]:
    port = gateway.server.port
    return [URL(f"https://127.0.0.1:{port}{path}"), URL(f"https://localhost:{port}{path}"), URL(gateway.url + path)]


async def test_the_guarded_transport_refuses_loopback_private_and_plain_http() -> None:
    with FakeAIGateway() as gateway:
        transport = HttpTransport(build_http_client(public_only=True))
        try:
            for url in _refused_urls(gateway, "/v1/models"):
                with pytest.raises(ConfigurationError, match="must be https and reach public addresses"):
                    await transport.send("GET", url, provider=ProviderName.AI_GATEWAY, what="model listing")
        finally:
            await transport.aclose()
        assert gateway.state.token_requests == 0


async def test_streams_and_credentialed_requests_are_guarded_alike() -> None:
    # Nothing leaves, not even the credential: the guard runs before the request is sent.
    with FakeAIGateway() as gateway:
        transport = HttpTransport(build_http_client(public_only=True))
        auth = HeaderAuth("Authorization", "Bearer ", SecretStr("k"))
        try:
            for url in _refused_urls(gateway, "/v1/chat/completions"):
                with pytest.raises(ConfigurationError, match=r"not a public address|only https"):
                    async with transport.stream(
                        "POST", url, provider=ProviderName.OPENAI, what="chat", auth=auth, body=b"{}"
                    ):
                        pass
                with pytest.raises(ConfigurationError, match=r"not a public address|only https"):
                    await transport.send("POST", url, provider=ProviderName.OPENAI, what="chat", auth=auth, body=b"{}")
        finally:
            await transport.aclose()
        assert (gateway.state.chat_requests, gateway.state.token_requests) == (0, 0)


async def test_a_blocked_address_is_a_configuration_error_that_says_why() -> None:
    with FakeAIGateway() as gateway:
        transport = HttpTransport(build_http_client(public_only=True))
        try:
            with pytest.raises(ConfigurationError) as refused:
                await transport.send(
                    "POST", URL(f"https://localhost:{gateway.server.port}/t"),
                    provider=ProviderName.AI_GATEWAY, what="token request",
                )  # fmt: skip
        finally:
            await transport.aclose()
    assert refused.value.message == (
        "AI Gateway token request refused: localhost resolves to not a public address; "
        "user-supplied URLs must be https and reach public addresses"
    )
    assert refused.value.provider is ProviderName.AI_GATEWAY


async def test_the_trusted_transport_reaches_loopback() -> None:
    with FakeAIGateway() as gateway:
        transport = HttpTransport(build_http_client())
        try:
            reply = await transport.send(
                "GET", URL(f"{gateway.url}/.well-known/openid-configuration"),
                provider=ProviderName.AI_GATEWAY, what="discovery",
            )  # fmt: skip
            assert reply.status == 200
        finally:
            await transport.aclose()
