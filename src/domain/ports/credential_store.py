from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ideaforge_gateway.domain.credentials import ProviderCredentials, StoredCredential, Verification
from ideaforge_gateway.domain.models import ProviderName


@runtime_checkable
class CredentialStore(Protocol):
    """Users' provider credentials, encrypted at rest, one per user and provider.

    - Secrets (API keys, client ids, client secrets) are stored encrypted and bound to their
      user, provider and field: a value copied to another row does not decrypt.
    - A value that cannot be decrypted is returned as a `StoredCredential` whose `credentials`
      is None and whose `unreadable_reason` says why; it is never dropped silently and never
      affects another user's or provider's rows.
    - `save` replaces the whole credential atomically: no reader sees half of it. `save_all`
      saves several providers' credentials in one transaction: all of them or none, and with
      `verification` records it on each (else their last verification is reset, as `save` does).
    - `revision()` changes whenever any credential changes, in any process sharing the
      database, so callers can drop cached clients cheaply.
    - Never logs a secret. Synchronous: call it from a worker thread in async code.
    """

    def get(self, user_id: str, provider: ProviderName) -> StoredCredential | None: ...

    def list(self, user_id: str) -> Sequence[StoredCredential]: ...

    def save(self, user_id: str, credentials: ProviderCredentials, *, enabled: bool = True) -> StoredCredential: ...

    def save_all(
        self,
        user_id: str,
        credentials: Sequence[ProviderCredentials],
        *,
        enabled: bool = True,
        verification: Verification | None = None,
    ) -> Sequence[StoredCredential]: ...

    def delete(self, user_id: str, provider: ProviderName) -> bool: ...

    def set_enabled(self, user_id: str, provider: ProviderName, enabled: bool) -> bool: ...

    def record_verification(self, user_id: str, provider: ProviderName, verification: Verification) -> None: ...

    def revision(self) -> int: ...
