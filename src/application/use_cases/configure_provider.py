from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from ideaforge_gateway.application.credential_rules import keep_stored_secrets, validate_user_credentials
from ideaforge_gateway.application.credential_writes import CredentialWrites
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.application.use_cases.verify_credentials import (
    VerificationResult,
    VerifyCredentials,
    VerifyRequest,
)
from ideaforge_gateway.domain.credentials import ProviderCredentials, StoredCredential, Verification


@dataclass(frozen=True, slots=True)
class ConfigureRequest:
    user_id: str
    credentials: ProviderCredentials
    verify_first: bool = False
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ConfigureResult:
    stored: StoredCredential | None
    verification: VerificationResult | None = None


class ConfigureProvider:
    """Store a user's credentials for one provider, replacing what was there.

    - The API key (or client id) must not be empty; the AI Gateway also needs a client secret.
    - A client id or client secret left out (empty id, no secret) is the stored one, but only
      while the destination stays the same: a stored secret is only ever sent to the destination
      it was stored with, so a new base URL, token URL or auth method needs the secret again
      (`InvalidRequestError` naming what changed; `keep_stored_secrets`). A new client id needs
      its own secret.
    - A base URL must pass the user base-URL policy (https, public addresses) unless private
      addresses are allowed by the operator.
    - With `verify_first`, credentials that fail verification are not stored and the result says
      why; with it, the stored row records the successful verification.
    - The user must exist and be active (`UnknownUserError` otherwise).
    - The next request uses the new credentials: the store's writes drop the registry's cache
      for this user (`CredentialWrites`). Nothing here waits for the database on the event loop.
    """

    def __init__(
        self,
        store: CredentialWrites,
        registry: ProviderRegistry,
        verify: VerifyCredentials,
        *,
        allow_private_base_urls: bool = False,
    ) -> None:
        self._store = store
        self._registry = registry
        self._verify = verify
        self._allow_private = allow_private_base_urls

    async def execute(self, request: ConfigureRequest) -> ConfigureResult:
        await asyncio.to_thread(self._registry.require_user, request.user_id)  # the user store, off the loop
        given = request.credentials
        if not given.api_key.get_secret_value() or given.client_secret is None:
            given = keep_stored_secrets(given, await self._store.get(request.user_id, given.provider))
        credentials = self.validate(given)
        verification = None
        if request.verify_first:
            verification = await self._verify.execute(VerifyRequest(credentials.provider, credentials, user_id=None))
            if not verification.valid:
                return ConfigureResult(stored=None, verification=verification)
        stored = await self._store.save(request.user_id, credentials, enabled=request.enabled)
        if verification is not None:
            await self._store.record_verification(
                request.user_id, credentials.provider, Verification(True, datetime.now(UTC))
            )
        return ConfigureResult(stored=stored, verification=verification)

    def validate(self, credentials: ProviderCredentials) -> ProviderCredentials:
        """The credentials, normalised, or `InvalidRequestError` saying what is wrong."""
        return validate_user_credentials(credentials, allow_private=self._allow_private)
