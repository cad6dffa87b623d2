"""OAuth2 client-credentials grant (RFC 6749 §4.4) behind the `TokenSource` port."""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import re
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from urllib.parse import quote_plus, urlencode

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator
from yarl import URL

from ideaforge_gateway.adapters.http.errors import parse_retry_after
from ideaforge_gateway.adapters.http.transport import HttpTransport, Reply
from ideaforge_gateway.domain.credentials import AuthMethod
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    GatewayError,
    ProviderUnavailableError,
)
from ideaforge_gateway.domain.models import AccessToken, ProviderName
from ideaforge_gateway.domain.policies.token_expiry import is_fresh, is_usable, token_deadlines
from ideaforge_gateway.domain.ports.token_source import TokenSource

log = logging.getLogger("ideaforge.token")

_PROVIDER = ProviderName.AI_GATEWAY
_DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
_FORM = "application/x-www-form-urlencoded"
TOKEN_ANSWER_BYTES = 64 << 10
"""A token answer is a few hundred bytes; anything near this is not one."""
DISCOVERY_BYTES = 256 << 10
"""Discovery documents list endpoints and algorithms: kilobytes, not megabytes."""
_OAUTH_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")
_DEFAULT_HINT = "the client id and secret (AI_GATEWAY_CLIENT_ID / AI_GATEWAY_CLIENT_SECRET, or the user's own)"
_HINTS = {
    "invalid_client": "check the client id and secret",
    "unauthorized_client": "the service account may not use the client-credentials grant",
    "invalid_scope": "check the scope (AI_GATEWAY_SCOPE)",
    "invalid_target": "check the audience (AI_GATEWAY_AUDIENCE)",
    "unsupported_grant_type": "the endpoint does not offer the client-credentials grant",
    "invalid_request": "check the auth method (AI_GATEWAY_AUTH_METHOD) and token URL",
}


class _TokenResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: SecretStr
    token_type: str = "Bearer"
    expires_in: float | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer_only(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("only bearer tokens are supported")
        return value


class _OAuthError(BaseModel):
    model_config = ConfigDict(extra="ignore")

    error: str = ""


class _Discovery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token_endpoint: str


def basic_credentials(client_id: str, client_secret: str) -> str:
    """The `Authorization: Basic` value RFC 6749 §2.3.1 asks for: each part form-encoded first."""
    raw = f"{quote_plus(client_id, safe='')}:{quote_plus(client_secret, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode("ascii")


class OAuth2ClientCredentialsTokenSource(TokenSource):
    """Service-account bearer tokens, cached and shared by every caller of this instance.

    - The token URL is `token_url`, or discovered once from `{issuer_url}/.well-known/
      openid-configuration`, then `/.well-known/oauth-authorization-server` (RFC 8414).
    - Single-flight: concurrent callers on one event loop await one shared refresh; the token
      it gets is shared by every caller, on every loop and thread. A cancelled caller stops
      waiting without cancelling the refresh for the others (it finishes and is cached even if
      every caller gave up); callers on another loop refresh there, so no loop ever waits on
      another, which may be blocked or closed.
    - Rejected credentials raise `AuthenticationError` at once; an unreachable or failing
      endpoint is retried `max_attempts` times with full-jitter backoff, honouring Retry-After up
      to `max_retry_after` seconds, then raises `ProviderUnavailableError` unless the cached
      token is still usable, which is then returned.
    """

    def __init__(
        self,
        transport: HttpTransport,
        *,
        client_id: SecretStr,
        client_secret: SecretStr,
        issuer_url: str,
        token_url: str | None = None,
        auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC,
        scope: str | None = None,
        audience: str | None = None,
        credential_hint: str = _DEFAULT_HINT,
        max_attempts: int = 3,
        backoff_base: float = 0.2,
        max_retry_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_refresh: Callable[[str], None] | None = None,
    ) -> None:
        if auth_method is AuthMethod.STATIC_KEY:
            raise ConfigurationError("static_key credentials need StaticKeyTokenSource", provider=_PROVIDER)
        self._transport = transport
        self._client_id = client_id
        self._client_secret = client_secret
        self._issuer_url = issuer_url.rstrip("/")
        self._token_url = token_url
        self._auth_method = auth_method
        self._scope = scope
        self._audience = audience
        self._hint = credential_hint
        self._max_attempts = max(1, max_attempts)
        self._backoff_base = backoff_base
        self._max_retry_after = max_retry_after
        self._clock = clock
        self._sleep = sleep
        self._on_refresh = on_refresh or (lambda outcome: None)  # `ok`, `failed` or `stale`: for metrics
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        # One refresh in flight per event loop (weakly keyed: a finished loop is not kept alive).
        # Per loop, not per process: a waiter on one loop must never depend on another loop,
        # which may be blocked (a sync call from an async function) or already closed.
        self._refreshes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[AccessToken]] = (
            weakref.WeakKeyDictionary()
        )
        self.requests_made = 0
        """Token requests sent so far: for tests, benchmarks and diagnostics."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(issuer_url={self._issuer_url!r}, auth_method={self._auth_method.value!r})"

    async def token(self) -> AccessToken:
        loop = asyncio.get_running_loop()
        with self._lock:
            current = self._token
            if current is not None and is_fresh(current, self._clock()):
                return current
            refresh = self._refreshes.get(loop)
            if refresh is None:
                for closed in [other for other in self._refreshes if other.is_closed()]:
                    del self._refreshes[closed]  # closed mid-refresh: its task will never finish
                refresh = self._refreshes[loop] = loop.create_task(self._refresh(current))
                refresh.add_done_callback(self._refresh_done)
        # The refresh is a task of its own and each caller waits through a shield: a cancelled
        # caller (its share of a deadline ran out) stops waiting, the refresh goes on for the others.
        return await asyncio.shield(refresh)

    def invalidate(self, token: AccessToken) -> None:
        with self._lock:
            if self._token is token:
                self._token = None

    def _refresh_done(self, refresh: asyncio.Task[AccessToken]) -> None:
        with self._lock:
            for loop, known in list(self._refreshes.items()):
                if known is refresh:
                    del self._refreshes[loop]
        if not refresh.cancelled():
            refresh.exception()  # retrieved: when every waiter was cancelled, nobody else reads it

    async def _refresh(self, previous: AccessToken | None) -> AccessToken:
        """A new token; or, if the endpoint is unavailable, the cached one while it is usable."""
        try:
            fresh = await self._fetch_with_retries()
        except ProviderUnavailableError as exc:
            with self._lock:
                still_cached = self._token is previous and previous is not None
            if still_cached and previous is not None and is_usable(previous, self._clock()):
                log.warning("token refresh failed, using the cached token until it expires: %s", exc)
                self._on_refresh("stale")
                return previous
            self._on_refresh("failed")
            raise
        except GatewayError:
            self._on_refresh("failed")
            raise
        except Exception as exc:  # noqa: BLE001 - whatever broke, the waiters get a domain error
            self._on_refresh("failed")
            raise ProviderUnavailableError(
                f"AI Gateway token request failed ({type(exc).__name__})", provider=_PROVIDER
            ) from None
        with self._lock:
            self._token = fresh
        self._on_refresh("ok")
        return fresh

    async def _fetch_with_retries(self) -> AccessToken:
        attempt = 0
        while True:
            attempt += 1
            try:
                token_url = self._token_url or await self._discover()
                self._token_url = token_url
                return await self._request_token(token_url)
            except ProviderUnavailableError as exc:
                if attempt >= self._max_attempts:
                    raise
                delay = random.uniform(0, self._backoff_base * 2 ** (attempt - 1))  # noqa: S311 - jitter, not crypto
                if exc.retry_after is not None:
                    if exc.retry_after > self._max_retry_after:
                        raise
                    delay = max(delay, exc.retry_after)
                log.debug("token endpoint unavailable (attempt %d), retrying in %.2f s", attempt, delay)
                await self._sleep(delay)

    async def _discover(self) -> str:
        for path in _DISCOVERY_PATHS:
            url = self._issuer_url + path
            response = await self._transport.send(
                "GET", URL(url), provider=_PROVIDER, what=f"discovery at {url}", max_bytes=DISCOVERY_BYTES
            )
            if response.status >= 500:
                raise self._unavailable(f"discovery at {url} answered HTTP {response.status}")
            if response.status != 200:
                continue
            try:
                endpoint = _Discovery.model_validate_json(response.body).token_endpoint
            except ValidationError:
                continue
            if endpoint.startswith(("https://", "http://")):
                log.debug("discovered token endpoint %s", endpoint)
                return endpoint
        raise ConfigurationError(
            f"AI Gateway token endpoint not found: neither {self._issuer_url}{_DISCOVERY_PATHS[0]} nor "
            f"{_DISCOVERY_PATHS[1]} names one; set AI_GATEWAY_TOKEN_URL (or use AI_GATEWAY_AUTH_METHOD=static_key)",
            provider=_PROVIDER,
        )

    async def _request_token(self, token_url: str) -> AccessToken:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        if self._audience:
            form["audience"] = self._audience
        headers: dict[str, str] = {}
        client_id = self._client_id.get_secret_value()
        client_secret = self._client_secret.get_secret_value()
        if self._auth_method is AuthMethod.CLIENT_SECRET_BASIC:
            headers["Authorization"] = basic_credentials(client_id, client_secret)
        else:
            form["client_id"] = client_id
            form["client_secret"] = client_secret
        self.requests_made += 1
        response = await self._transport.send(
            "POST", URL(token_url), provider=_PROVIDER, what="token request", body=urlencode(form).encode(),
            content_type=_FORM, headers=headers, max_bytes=TOKEN_ANSWER_BYTES,
        )  # fmt: skip
        if response.status == 200:
            return self._parse(response)
        raise self._error_for(response)

    def _parse(self, response: Reply) -> AccessToken:
        try:
            body = _TokenResponse.model_validate_json(response.body)
        except ValidationError:
            raise self._unavailable("token endpoint sent a malformed token response") from None
        refresh_at, expires_at = token_deadlines(body.expires_in, self._clock())
        log.debug("obtained an AI Gateway token valid for %s s", body.expires_in)
        return AccessToken(value=body.access_token, expires_at=expires_at, refresh_at=refresh_at)

    def _error_for(self, response: Reply) -> GatewayError:
        status = response.status
        if status in (400, 401, 403):
            try:
                code = _OAuthError.model_validate_json(response.body).error
            except ValidationError:
                code = ""
            code = code if _OAUTH_ERROR_CODE.match(code) else ""
            named = f" ({code})" if code else f" (HTTP {status})"
            hint = _HINTS.get(code, "check the client id and secret")
            if hint == _HINTS["invalid_client"]:
                hint = f"check {self._hint}"
            return AuthenticationError(f"AI Gateway rejected the client credentials{named}: {hint}", provider=_PROVIDER)
        if status == 404:
            return ConfigurationError(
                "AI Gateway token endpoint answered HTTP 404: check AI_GATEWAY_TOKEN_URL", provider=_PROVIDER
            )
        error = self._unavailable(f"token endpoint answered HTTP {status}")
        error.retry_after = parse_retry_after(response.headers.get("retry-after"))
        return error

    @staticmethod
    def _unavailable(what: str) -> ProviderUnavailableError:
        return ProviderUnavailableError(f"AI Gateway {what}", provider=_PROVIDER)


class StaticKeyTokenSource(TokenSource):
    """`client_id:client_secret` sent as the bearer key, with no exchange (AUTH_METHOD=static_key)."""

    def __init__(self, *, client_id: SecretStr, client_secret: SecretStr) -> None:
        key = f"{client_id.get_secret_value()}:{client_secret.get_secret_value()}"
        self._token = AccessToken(value=SecretStr(key), expires_at=float("inf"), refresh_at=float("inf"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    async def token(self) -> AccessToken:
        return self._token

    def invalidate(self, token: AccessToken) -> None:
        """Nothing to refresh: a rejected static key stays rejected."""
