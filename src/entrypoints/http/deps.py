"""What routes need, reached through `app.state.container`: one `Annotated` alias each."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import SecretStr

from ideaforge_gateway.adapters.observability import request_context
from ideaforge_gateway.domain.credentials import User
from ideaforge_gateway.entrypoints.container import Container
from ideaforge_gateway.entrypoints.http.errors import ApiError

_bearer = HTTPBearer(auto_error=False, description="A user's API token from `ideaforge users create`.")


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_current_user(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The active user whose token is in `Authorization: Bearer ...`, else 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        return await user_for_token(container, None)
    return await user_for_token(container, credentials.credentials)


async def user_for_authorization(container: Container, authorization: str | None) -> User:
    """`get_current_user` for a route that reads the `Authorization` header itself."""
    scheme, token = get_authorization_scheme_param(authorization)  # as HTTPBearer parses it
    return await user_for_token(container, token if scheme.lower() == "bearer" else None)


async def user_for_token(container: Container, bearer: str | None) -> User:
    """The active user with API token `bearer`, else 401.

    A cached answer is used on the event loop; only a store lookup goes to the thread pool.
    """
    if not bearer:
        raise ApiError(401, "missing bearer token: send Authorization: Bearer <your API token>", "unauthorized")
    token = SecretStr(bearer)
    authenticator = container.authenticator()
    found, user = authenticator.cached(token)
    if not found:
        user = await run_in_threadpool(authenticator.authenticate, token)
    if user is None:
        raise ApiError(401, "invalid or revoked API token", "unauthorized")
    request_context.set_user(user.id)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

BEARER_SECURITY: list[dict[str, list[str]]] = [{"HTTPBearer": []}]
"""What `CurrentUser` declares in OpenAPI, for a route that authenticates with
`user_for_authorization` instead."""
