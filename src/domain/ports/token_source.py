from __future__ import annotations

from typing import Protocol, runtime_checkable

from ideaforge_gateway.domain.models import AccessToken


@runtime_checkable
class TokenSource(Protocol):
    """Supplies a bearer token for one set of credentials.

    - `token()` returns a token valid for at least a few more seconds. It is cached until
      shortly before expiry; any number of concurrent callers (tasks or threads) cause at most
      one request to the token endpoint.
    - While a refresh fails but the cached token has not expired, the cached token is returned.
    - Raises `AuthenticationError` when the credentials are rejected (no retry), and
      `ProviderUnavailableError` when the token endpoint cannot be reached after bounded retries,
      `ConfigurationError` when no token endpoint can be found.
    - `invalidate(token)` drops that token if it is still the cached one (for example after the
      API answered 401); the next `token()` fetches a new one.
    - Never logs, raises or reprs a secret or a token.
    """

    async def token(self) -> AccessToken: ...

    def invalidate(self, token: AccessToken) -> None: ...
