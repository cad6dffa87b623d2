"""Credentials for the transport: a header to send, and what to do after a 401.

The transport (`transport.py`) asks `header()` before each request; when the answer is 401 it
asks `after_rejection(used)` once for a replacement and, if there is one, sends the request once
more. Two kinds exist: bearer tokens from a `TokenSource` (the AI Gateway's service accounts), and
a fixed header (vendors' API keys), which has nothing to retry with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pydantic import SecretStr

from ideaforge_gateway.domain.models import AccessToken
from ideaforge_gateway.domain.ports.token_source import TokenSource


@dataclass(frozen=True, slots=True)
class AuthHeader:
    """One credential header to send; `token` is the token it carries, if it came from a source."""

    name: str
    value: str = field(repr=False)
    token: AccessToken | None = field(default=None, repr=False)


class RequestAuth(Protocol):
    """A credential. `header()` may do I/O (fetching a token); neither method logs or reprs a secret."""

    async def header(self) -> AuthHeader: ...

    async def after_rejection(self, used: AuthHeader) -> AuthHeader | None:
        """The header to retry with after `used` was answered 401, or None to give up."""
        ...


class TokenSourceAuth(RequestAuth):
    """`Authorization: Bearer <token>` from a `TokenSource` (httpx's token-refresh recipe).

    After a 401 the token is invalidated and the request is sent once more with a fresh one,
    unless the source handed back the very same token (a static key cannot be refreshed).
    `header` and `prefix` name another header for the token (Azure's `api-key`, no prefix).
    """

    def __init__(self, source: TokenSource, *, header: str = "Authorization", prefix: str = "Bearer ") -> None:
        self._source = source
        self._header = header
        self._prefix = prefix

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._source!r})"

    async def header(self) -> AuthHeader:
        return self._carrying(await self._source.token())

    async def after_rejection(self, used: AuthHeader) -> AuthHeader | None:
        if used.token is None:
            return None
        self._source.invalidate(used.token)
        fresh = await self._source.token()
        return None if fresh is used.token else self._carrying(fresh)

    def _carrying(self, token: AccessToken) -> AuthHeader:
        return AuthHeader(self._header, self._prefix + token.value.get_secret_value(), token)


class HeaderAuth(RequestAuth):
    """A fixed credential header (vendors' API keys): `header: value_prefix + secret`."""

    def __init__(self, header: str, value_prefix: str, secret: SecretStr) -> None:
        self._header = header
        self._prefix = value_prefix
        self._secret = secret

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._header!r})"

    async def header(self) -> AuthHeader:
        return AuthHeader(self._header, self._prefix + self._secret.get_secret_value())

    async def after_rejection(self, used: AuthHeader) -> AuthHeader | None:
        return None
