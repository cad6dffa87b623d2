from __future__ import annotations

from typing import Protocol, runtime_checkable

from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider


@runtime_checkable
class ProviderFactory(Protocol):
    """Builds the `LLMProvider` for a set of credentials.

    - Cheap and synchronous: no I/O happens until the provider is used.
    - Missing optional fields (base URL, token URL, auth method) take the operator's defaults.
    - Raises `ConfigurationError` for credentials that cannot work (an AI Gateway credential
      without a client secret, say). The caller caches what it builds.
    """

    def build(self, credentials: ProviderCredentials) -> LLMProvider: ...
