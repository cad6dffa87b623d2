"""Bearer tokens from a `TokenSource` on every request, with one refresh-and-retry on a 401."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import httpx
from pydantic import SecretStr

from domain.ports.token_source import TokenSource


class TokenSourceAuth(httpx.Auth):
    """httpx's token-refresh recipe over the `TokenSource` port.

    Sets `Authorization: Bearer <token>`. When the server answers 401, the token is invalidated
    and the request is sent once more with a fresh one, unless the source handed back the very
    same token (a static key cannot be refreshed). Async only: getting a token is I/O.
    """

    def __init__(self, source: TokenSource) -> None:
        self._source = source

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("TokenSourceAuth works with httpx.AsyncClient only")
        yield request  # pragma: no cover - makes this a generator, as httpx expects

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._source.token()
        request.headers["Authorization"] = f"Bearer {token.value.get_secret_value()}"
        response = yield request
        if response.status_code != 401:
            return
        self._source.invalidate(token)
        fresh = await self._source.token()
        if fresh is token:
            return
        request.headers["Authorization"] = f"Bearer {fresh.value.get_secret_value()}"
        yield request


class HeaderAuth(httpx.Auth):
    """A fixed credential header (vendor API keys), kept out of the client's shared headers."""

    def __init__(self, header: str, value_prefix: str, secret: SecretStr) -> None:
        self._header = header
        self._prefix = value_prefix
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._prefix + self._secret.get_secret_value()
        yield request
