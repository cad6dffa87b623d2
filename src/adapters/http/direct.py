"""Requests on the shared client's aiohttp session, without httpx's layer.

For the calls on every request's path (the OpenAI-compatible chat and stream): httpx's request
and response models, auth flow and cookie handling cost ~30 % of the proxy's CPU per request on
top of aiohttp (bench/analysis.md). What the httpx path guarantees is kept: the same session and
timeouts, the credentials rule of `RequestAuth` (one retry with a fresh token after a 401), the
public-only checks for users' URLs, no redirects, and failures raised as httpx's exception types,
so that `errors.error_for_transport` maps both paths alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext

import aiohttp
from httpx_aiohttp.transport import map_aiohttp_exceptions
from yarl import URL

from ideaforge_gateway.adapters.http.client import SharedHttpClient
from ideaforge_gateway.adapters.http.public_only import public_only
from ideaforge_gateway.adapters.http.token_auth import AuthHeader, RequestAuth

JSON = "application/json"


@asynccontextmanager
async def send(
    client: SharedHttpClient,
    method: str,
    url: URL,
    *,
    auth: RequestAuth,
    json_body: bytes | None = None,
    accept: str = JSON,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """The response to `method url`, its body unread; released when the block ends.

    Raises httpx's `TransportError` types, also for failures while the block reads the body.
    """
    session = client.session()
    headers = {"Accept": accept}
    if json_body is not None:
        headers["Content-Type"] = JSON

    async def attempt(credential: AuthHeader) -> aiohttp.ClientResponse:
        return await session.request(
            method,
            url,
            data=json_body,
            headers={**headers, credential.name: credential.value},
            allow_redirects=False,
            timeout=client.direct_timeout,
        )

    guard: AbstractContextManager[None] = (
        public_only(url.scheme, url.host or "") if client.public_only else nullcontext()
    )
    with guard, map_aiohttp_exceptions():
        used = await auth.header()
        response = await attempt(used)
        try:
            if response.status == 401:
                fresh = await auth.after_rejection(used)
                if fresh is not None:
                    response.release()
                    response = await attempt(fresh)
            yield response
        finally:
            response.release()
