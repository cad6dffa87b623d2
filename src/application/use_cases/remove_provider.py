from __future__ import annotations

from dataclasses import dataclass

from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.ports.credential_store import CredentialStore


@dataclass(frozen=True, slots=True)
class RemoveRequest:
    user_id: str
    provider: ProviderName


class RemoveProvider:
    """Delete a user's stored credentials for one provider.

    - Returns whether there was anything to delete; deleting nothing is not an error.
    - Afterwards the user falls back to the environment's configuration for that provider.
    """

    def __init__(self, store: CredentialStore, registry: ProviderRegistry) -> None:
        self._store = store
        self._registry = registry

    def execute(self, request: RemoveRequest) -> bool:
        removed = self._store.delete(request.user_id, request.provider)
        self._registry.forget_user(request.user_id)
        return removed


@dataclass(frozen=True, slots=True)
class EnableRequest:
    user_id: str
    provider: ProviderName
    enabled: bool


class SetProviderEnabled:
    """Turn a user's stored provider off or on without deleting its credentials.

    - Returns False when the user has no stored credentials for that provider.
    - A disabled provider is not used for that user, not even with the environment's credentials.
    """

    def __init__(self, store: CredentialStore, registry: ProviderRegistry) -> None:
        self._store = store
        self._registry = registry

    def execute(self, request: EnableRequest) -> bool:
        changed = self._store.set_enabled(request.user_id, request.provider, request.enabled)
        self._registry.forget_user(request.user_id)
        return changed
