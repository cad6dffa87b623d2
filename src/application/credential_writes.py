"""The credential store as the use cases see it: async, and keeping the registry's cache honest.

The store port is synchronous (SQLAlchemy sessions); every call made here runs in a worker
thread, so no request path waits for the database on the event loop (with PostgreSQL that would
stall every request the worker serves). Every write drops what the registry cached for that
user, here, once (cosmicpython's tracking repository): no use case has to remember to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.credentials import ProviderCredentials, StoredCredential, Verification
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.ports.credential_store import CredentialStore


class CredentialWrites:
    """`store`'s reads and writes, off the event loop; writes invalidate `registry` for the user."""

    def __init__(self, store: CredentialStore, registry: ProviderRegistry) -> None:
        self._store = store
        self._registry = registry

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._store!r})"

    async def get(self, user_id: str, provider: ProviderName) -> StoredCredential | None:
        return await asyncio.to_thread(self._store.get, user_id, provider)

    async def save(self, user_id: str, credentials: ProviderCredentials, *, enabled: bool = True) -> StoredCredential:
        try:
            return await asyncio.to_thread(self._store.save, user_id, credentials, enabled=enabled)
        finally:
            self._registry.forget_user(user_id)

    async def save_all(
        self,
        user_id: str,
        credentials: Sequence[ProviderCredentials],
        *,
        enabled: bool = True,
        verification: Verification | None = None,
    ) -> Sequence[StoredCredential]:
        """All of `credentials` in one transaction: all saved or none (`CredentialStore.save_all`)."""
        try:
            return await asyncio.to_thread(
                self._store.save_all, user_id, credentials, enabled=enabled, verification=verification
            )
        finally:
            self._registry.forget_user(user_id)

    async def delete(self, user_id: str, provider: ProviderName) -> bool:
        try:
            return await asyncio.to_thread(self._store.delete, user_id, provider)
        finally:
            self._registry.forget_user(user_id)

    async def set_enabled(self, user_id: str, provider: ProviderName, enabled: bool) -> bool:
        try:
            return await asyncio.to_thread(self._store.set_enabled, user_id, provider, enabled)
        finally:
            self._registry.forget_user(user_id)

    async def record_verification(self, user_id: str, provider: ProviderName, verification: Verification) -> None:
        try:
            await asyncio.to_thread(self._store.record_verification, user_id, provider, verification)
        finally:
            self._registry.forget_user(user_id)  # its cached status shows the old result
