from __future__ import annotations

from typing import Protocol

from ideaforge_gateway.domain.catalog import Catalog


class ModelCatalog(Protocol):
    """An AI Gateway instance's model catalog (`domain.catalog`).

    - `fetch(provider)` asks for the catalog, only that provider's (family's) part when given,
      and returns it whole: every model with its classification and, when listed, its price.
    - One request per call, never retried here; it never follows a redirect or logs a secret.
    - Raises a `GatewayError` naming the AI Gateway's catalog when there is no usable answer:
      `AuthenticationError` (401), `PermissionDeniedError` (403), `ProviderUnavailableError`
      (refused, 5xx, timed out, malformed or too large an answer), `ConfigurationError` (no
      instance id or credentials to ask with).
    """

    async def fetch(self, provider: str | None = None) -> Catalog: ...
