from __future__ import annotations

from dataclasses import dataclass

from ideaforge_gateway.application.credential_writes import CredentialWrites
from ideaforge_gateway.domain.models import ProviderName


@dataclass(frozen=True, slots=True)
class RemoveRequest:
    user_id: str
    provider: ProviderName


class RemoveProvider:
    """Delete a user's stored credentials for one provider.

    - Returns whether there was anything to delete; deleting nothing is not an error.
    - Afterwards the user falls back to the environment's configuration for that provider.
    """

    def __init__(self, store: CredentialWrites) -> None:
        self._store = store

    async def execute(self, request: RemoveRequest) -> bool:
        return await self._store.delete(request.user_id, request.provider)


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

    def __init__(self, store: CredentialWrites) -> None:
        self._store = store

    async def execute(self, request: EnableRequest) -> bool:
        return await self._store.set_enabled(request.user_id, request.provider, request.enabled)
