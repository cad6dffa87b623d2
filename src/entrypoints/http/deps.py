"""What routes need, reached through `app.state.container`: one `Annotated` alias each."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import SecretStr

from ideaforge_gateway.adapters.observability import request_context
from ideaforge_gateway.adapters.sql.engine import OUTAGE_ERRORS
from ideaforge_gateway.domain.credentials import User
from ideaforge_gateway.entrypoints.container import Container
from ideaforge_gateway.entrypoints.http.errors import ApiError, database_unavailable

_bearer = HTTPBearer(auto_error=False, description="A user's API token from `ideaforge users create`.")


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


_log = logging.getLogger("ideaforge_gateway.auth")


async def get_current_user(
    request: Request,
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The active user whose token is in `Authorization: Bearer ...`, else 401 (429 while this
    address or token prefix has failed too often: `user_for_token`)."""
    client = client_address(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        return await user_for_token(container, None, client)
    return await user_for_token(container, credentials.credentials, client)


async def user_for_authorization(container: Container, authorization: str | None, client: str) -> User:
    """`get_current_user` for a route that reads the `Authorization` header itself."""
    scheme, token = get_authorization_scheme_param(authorization)  # as HTTPBearer parses it
    return await user_for_token(container, token if scheme.lower() == "bearer" else None, client)


def client_address(request: Request) -> str:
    """The peer's address as the server saw it (a proxy's, behind one: forwarded headers are
    not trusted, since any client can write them)."""
    return request.client.host if request.client else "unknown"


def token_tag(bearer: str) -> str:
    """A short, non-reversible tag of a token's first characters: to log a failed sign-in and to
    count failures per token prefix, without the token."""
    return hashlib.sha256(bearer[:16].encode()).hexdigest()[:8]


async def user_for_token(container: Container, bearer: str | None, client: str = "unknown") -> User:
    """The active user with API token `bearer`, else 401.

    - A token that fails is logged at warning (client address and `token_tag`, never the
      token) and counted per client address and per token prefix; past
      IDEAFORGE_SIGN_IN_FAILURES_PER_MINUTE of either, every token from that address or with
      that prefix gets 429 with Retry-After until the window has room again.
    - A cached answer is used on the event loop; only a store lookup goes to the thread pool.
    """
    if not bearer:
        raise ApiError(401, "missing bearer token: send Authorization: Bearer <your API token>", "unauthorized")
    limiter = container.sign_in_limiter()
    keys = (f"address:{client}", f"token:{token_tag(bearer)}")
    wait = limiter.retry_after(*keys)
    if wait is not None:
        raise ApiError(
            429,
            f"too many failed sign-ins from this address or with this token: retry after {math.ceil(wait)} s",
            "rate_limited",
            {"Retry-After": str(math.ceil(wait))},
        )
    token = SecretStr(bearer)
    authenticator = container.authenticator()
    found, user = authenticator.cached(token)
    if not found:
        user = await run_in_threadpool(authenticator.authenticate, token)
    if user is None:
        limiter.record(*keys)
        _log.warning("failed sign-in from %s: invalid or revoked API token (token tag %s)", client, token_tag(bearer))
        raise ApiError(401, "invalid or revoked API token", "unauthorized")
    request_context.set_user(user.id)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def bearer_of(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header, as `HTTPBearer` reads it."""
    scheme, token = get_authorization_scheme_param(authorization)
    return token if scheme.lower() == "bearer" and token else None


def authorization_check(container: Container, authorization: str | None) -> Callable[[], Awaitable[bool]]:
    """Whether the token in `authorization` still authenticates, asked off the event loop: a
    stream calls it now and then, and ends when the token has been revoked. While the database
    is unreachable past the authenticator's grace, it raises the 503 `ApiError` (the stream ends
    with that error event)."""
    bearer = bearer_of(authorization)

    async def still_authorized() -> bool:
        if bearer is None:
            return False
        try:
            user = await run_in_threadpool(container.authenticator().authenticate, SecretStr(bearer))
        except OUTAGE_ERRORS as exc:
            raise database_unavailable("a stream's token re-check", exc) from None
        return user is not None

    return still_authorized


BEARER_SECURITY: list[dict[str, list[str]]] = [{"HTTPBearer": []}]
"""What `CurrentUser` declares in OpenAPI, for a route that authenticates with
`user_for_authorization` instead."""
