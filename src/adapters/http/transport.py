"""The one way out to the network: every HTTP request the product makes goes through here.

A strict point of cut-off, as httpx's `_transports/base.py` calls its own. What happens here,
once, for every caller (providers, the OAuth2 token source, discovery):

- **Credentials**: `auth.header()` before the request; on a 401, `auth.after_rejection(used)`
  once, and the request is sent once more if it gave a new header (`token_auth.py`).
- **Users' URLs**: on a public-only client, plain http and literal non-public addresses are
  refused before the request leaves, names as they resolve (`public_only.py`); either is a
  `ConfigurationError` saying why. Redirects are never followed: every request may carry
  credentials.
- **Concurrency bounds**: a slot per request for the user it is made for and its host
  (`bounds.py`), held until the answer is released; past a bound, the request is refused at
  once with an error naming the setting.
- **Timeouts**: the client's (`HttpTimeouts`): connecting, and each wait for bytes.
- **Bounded bodies**: a non-streamed answer is read up to `max_bytes` (the transport's
  `max_response_bytes`, `IDEAFORGE_MAX_RESPONSE_BYTES`, unless the call names a smaller cap);
  past it, reading stops, the connection is dropped and a `ProviderUnavailableError` says the
  answer was too large (it falls over like a malformed answer). An error answer's body is only
  ever read for its error code, so it is cut at `ERROR_BODY_BYTES` instead.
- **Failures as domain errors**: every transport failure is raised as one `GatewayError` naming
  the provider and what was being done; a refused connection says so, and is `looks_down`.
- **A debug log line per exchange** (`ideaforge.http`): what, method, URL without its query,
  status or failure; never a header or a body.

`send` returns the whole answer; `stream` is an async context manager whose `EventStream`
yields the server-sent events' data as they arrive (`sse.py`), the connection released when
the block ends, however it ends.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from yarl import URL

from ideaforge_gateway.adapters.http.bounds import ConcurrencyBounds, bounds_exempt
from ideaforge_gateway.adapters.http.client import SharedHttpClient
from ideaforge_gateway.adapters.http.failures import CallFailure
from ideaforge_gateway.adapters.http.public_only import BlockedAddressError, check_url
from ideaforge_gateway.adapters.http.sse import SSEDecodeError, SSEDecoder
from ideaforge_gateway.adapters.http.token_auth import AuthHeader, RequestAuth
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.tenancy import acting_user

log = logging.getLogger("ideaforge.http")

JSON = "application/json"
EVENT_STREAM = "text/event-stream"
DEFAULT_MAX_RESPONSE_BYTES = 8 << 20
ERROR_BODY_BYTES = 64 << 10
"""Error answers are read for their error code only; the rest is not worth the memory."""

Headers = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole answer. `headers` looks names up without regard to case."""

    status: int
    headers: Headers
    body: bytes


class EventStream:
    """An answer being streamed. With a status other than 200, `body` holds its (cut) body and
    there are no events; with 200, the answer was checked to be `text/event-stream`."""

    def __init__(self, response: aiohttp.ClientResponse, body: bytes, fail: CallFailure) -> None:
        self.status = response.status
        self.headers: Headers = response.headers
        self.body = body
        self._response = response
        self._fail = fail

    async def batches(self) -> AsyncIterator[list[str]]:
        """The data of the events each read completes, in order; failures as domain errors.

        Events that arrive in one read come together, so a consumer can hand them on together
        (a busy upstream's tokens then cost one write downstream, not one each).
        """
        if self.status != 200:
            return
        decoder = SSEDecoder()
        try:
            async for chunk in self._response.content.iter_any():
                events = decoder.feed(chunk)
                if events:
                    yield events
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._fail.transport(exc) from None
        except SSEDecodeError:
            raise self._fail.malformed("event stream") from None


class HttpTransport:
    """Requests on a `SharedHttpClient`'s session, with the rules above."""

    def __init__(
        self,
        client: SharedHttpClient,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        bounds: ConcurrencyBounds | None = None,
    ) -> None:
        self.client = client
        self.max_response_bytes = max_response_bytes
        self.bounds = bounds or ConcurrencyBounds()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client!r}, max_response_bytes={self.max_response_bytes})"

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send(
        self,
        method: str,
        url: URL,
        *,
        provider: ProviderName,
        what: str,
        auth: RequestAuth | None = None,
        body: bytes | None = None,
        content_type: str = JSON,
        headers: Headers | None = None,
        params: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> Reply:
        """The answer to `method url`, its body read (bounded, see the module's docstring).

        `what` names the call in errors ("chat completion"). Raises a `GatewayError` for every
        failure to get an answer; an answer with any status is returned, for the caller to map.
        """
        fail = CallFailure(provider, what, url.host or "")
        limit = min(max_bytes or self.max_response_bytes, self.max_response_bytes)
        async with self._send(method, url, fail, auth, body, content_type, JSON, headers, params) as response:
            try:
                if response.status >= 300:
                    content = await _read_cut(response, ERROR_BODY_BYTES)
                else:
                    content = await _read_bounded(response, limit, fail)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise fail.transport(exc) from None
            return Reply(response.status, response.headers, content)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: URL,
        *,
        provider: ProviderName,
        what: str,
        auth: RequestAuth | None = None,
        body: bytes | None = None,
        headers: Headers | None = None,
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[EventStream]:
        """The answer as an `EventStream`; the connection is released when the block ends."""
        fail = CallFailure(provider, what, url.host or "")
        async with self._send(method, url, fail, auth, body, JSON, EVENT_STREAM, headers, params) as response:
            content = b""
            if response.status != 200:
                try:
                    content = await _read_cut(response, ERROR_BODY_BYTES)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    raise fail.transport(exc) from None
            elif response.content_type != EVENT_STREAM:
                raise fail.malformed(f"event stream (not {EVENT_STREAM})")
            yield EventStream(response, content, fail)

    @asynccontextmanager
    async def _send(
        self,
        method: str,
        url: URL,
        fail: CallFailure,
        auth: RequestAuth | None,
        body: bytes | None,
        content_type: str,
        accept: str,
        extra: Headers | None,
        params: Mapping[str, str] | None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send, with the credential rule and the guard, holding a slot of the concurrency bounds
        until the response is released; the response's body is left unread."""
        with self.bounds.slot(acting_user(), f"{url.host}:{url.port}", fail.provider, fail.what):
            client = self.client
            try:
                if client.public_only:
                    check_url(url.scheme, url.host or "")
                session = client.session()
                proxy = await client.route(url)
                headers = {"Accept": accept, **(extra or {})}
                if body is not None:
                    headers["Content-Type"] = content_type

                async def attempt(credential: AuthHeader | None) -> aiohttp.ClientResponse:
                    if credential is not None:
                        headers[credential.name] = credential.value
                    return await session.request(
                        method,
                        url,
                        data=body,
                        params=params,
                        headers=headers,
                        allow_redirects=False,
                        timeout=client.timeout,
                        proxy=proxy,
                    )

                with bounds_exempt():  # a token fetched for this request rides on its slot
                    used = await auth.header() if auth is not None else None
                response = await attempt(used)
                if response.status == 401 and auth is not None and used is not None:
                    with bounds_exempt():
                        fresh = await auth.after_rejection(used)
                    if fresh is not None:
                        response.release()
                        response = await attempt(fresh)
            except (aiohttp.ClientError, TimeoutError, BlockedAddressError) as exc:
                error = fail.transport(exc)
                log.debug("%s %s %s: %s", fail.what, method, url.with_query(None), error)
                raise error from None
            except ValueError:
                # aiohttp refuses a header value with CR or LF (an access token the token endpoint
                # sent, say) before anything is sent; the value itself is never repeated.
                raise fail.unsendable() from None
            if log.isEnabledFor(logging.DEBUG):  # the URL without its query; never a header
                log.debug("%s %s %s -> HTTP %d", fail.what, method, url.with_query(None), response.status)
            try:
                yield response
            finally:
                response.release()


async def _read_bounded(response: aiohttp.ClientResponse, limit: int, fail: CallFailure) -> bytes:
    """The whole body, or `too_large` as soon as it passes `limit` (the connection dropped)."""
    declared = response.content_length
    if declared is not None and declared <= limit:
        return await response.read()  # the common case: one read, no counting
    if declared is not None:
        response.close()
        raise fail.too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            response.close()
            raise fail.too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_cut(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """At most `limit` bytes of the body; the connection is dropped if more were left."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            response.close()
            break
    return b"".join(chunks)[:limit]


__all__ = ["EVENT_STREAM", "JSON", "EventStream", "HttpTransport", "Reply"]
