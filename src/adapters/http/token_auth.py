"""Credentials on every request: a fixed vendor key, or bearer tokens from a `TokenSource` with one
refresh-and-retry on a 401.

Each works as an `httpx.Auth` and, for the calls that skip httpx (`direct.py`), through
`header()` and `after_rejection()`: one rule, whichever client sends the request.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from ideaforge_gateway.domain.models import AccessToken
from ideaforge_gateway.domain.ports.token_source import TokenSource


@dataclass(frozen=True, slots=True)
class AuthHeader:
    """One credential header to send; `token` is the token it carries, if it came from a source."""

    name: str
    value: str = field(repr=False)
    token: AccessToken | None = field(default=None, repr=False)


class RequestAuth(httpx.Auth):
    """Adds `header()` to each request; on a 401, asks `after_rejection` once for a replacement.
    Async only: getting a token is I/O."""

    async def header(self) -> AuthHeader:
        raise NotImplementedError

    async def after_rejection(self, used: AuthHeader) -> AuthHeader | None:
        """The header to retry with after `used` was answered 401, or None to give up."""
        return None

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError(f"{type(self).__name__} works with httpx.AsyncClient only")
        yield request  # pragma: no cover - makes this a generator, as httpx expects

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        used = await self.header()
        request.headers[used.name] = used.value
        response = yield request
        if response.status_code != 401:
            return
        fresh = await self.after_rejection(used)
        if fresh is None:
            return
        request.headers[fresh.name] = fresh.value
        yield request


class TokenSourceAuth(RequestAuth):
    """httpx's token-refresh recipe over the `TokenSource` port.

    Sets `Authorization: Bearer <token>`. When the server answers 401, the token is invalidated
    and the request is sent once more with a fresh one, unless the source handed back the very
    same token (a static key cannot be refreshed).
    """

    def __init__(self, source: TokenSource) -> None:
        self._source = source

    async def header(self) -> AuthHeader:
        return _bearer(await self._source.token())

    async def after_rejection(self, used: AuthHeader) -> AuthHeader | None:
        if used.token is None:
            return None
        self._source.invalidate(used.token)
        fresh = await self._source.token()
        return None if fresh is used.token else _bearer(fresh)


class HeaderAuth(RequestAuth):
    """A fixed credential header (vendor API keys), kept out of the client's shared headers."""

    def __init__(self, header: str, value_prefix: str, secret: SecretStr) -> None:
        self._header = header
        self._prefix = value_prefix
        self._secret = secret

    async def header(self) -> AuthHeader:
        return AuthHeader(self._header, self._prefix + self._secret.get_secret_value())


def _bearer(token: AccessToken) -> AuthHeader:
    return AuthHeader("Authorization", f"Bearer {token.value.get_secret_value()}", token)
