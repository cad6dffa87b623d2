"""URLs that users supply reach only public addresses over https: checked as connected."""

from __future__ import annotations

import socket

import httpx
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import SecretStr
from yarl import URL

from ideaforge_gateway.adapters.http import direct
from ideaforge_gateway.adapters.http.client import build_http_client
from ideaforge_gateway.adapters.http.errors import error_for_transport
from ideaforge_gateway.adapters.http.public_only import BlockedAddressError, PublicOnlyResolver
from ideaforge_gateway.adapters.http.token_auth import HeaderAuth
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


async def test_the_guarded_client_refuses_loopback_private_and_plain_http() -> None:
    with FakeAIGateway() as gateway:
        port = gateway.server.port
        client = build_http_client(public_only=True)
        try:
            for url in (
                f"https://127.0.0.1:{port}/v1/models",
                f"https://localhost:{port}/v1/models",
                f"{gateway.url}/v1/models",
            ):
                with pytest.raises(BlockedAddressError):
                    await client.get(url)
        finally:
            await client.aclose()
        assert gateway.state.token_requests == 0


async def test_direct_calls_are_guarded_alike() -> None:
    # The chat path skips httpx (adapters/http/direct.py): the same refusals must hold there.
    with FakeAIGateway() as gateway:
        port = gateway.server.port
        client = build_http_client(public_only=True)
        auth = HeaderAuth("Authorization", "Bearer ", SecretStr("k"))
        try:
            for url in (
                f"https://127.0.0.1:{port}/v1/chat/completions",
                f"https://localhost:{port}/v1/chat/completions",
                f"{gateway.url}/v1/chat/completions",
            ):
                with pytest.raises(BlockedAddressError):
                    async with direct.send(client, "POST", URL(url), auth=auth, json_body=b"{}"):
                        pass
        finally:
            await client.aclose()
        assert (gateway.state.chat_requests, gateway.state.token_requests) == (0, 0)


async def test_a_blocked_address_is_a_configuration_error_that_says_why() -> None:
    error = error_for_transport(
        ProviderName.AI_GATEWAY, BlockedAddressError("localhost resolves to not a public address"), what="token request"
    )
    assert isinstance(error, ConfigurationError)
    assert "must be https and reach public addresses" in error.message


async def test_the_trusted_client_reaches_loopback() -> None:
    with FakeAIGateway() as gateway:
        client = build_http_client()
        try:
            assert (await client.get(f"{gateway.url}/.well-known/openid-configuration")).status_code == 200
        finally:
            await client.aclose()


def test_httpx_sees_a_blocked_address_as_a_connect_error() -> None:
    assert issubclass(BlockedAddressError, httpx.ConnectError)
