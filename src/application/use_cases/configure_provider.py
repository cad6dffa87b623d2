from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ProviderName


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


@dataclass(frozen=True, slots=True)
class ConfigureAllResult:
    stored: Sequence[StoredCredential]
    """Every provider asked for, or none of them (when `failures` is not empty)."""
    failures: dict[ProviderName, tuple[str, str | None]] = field(default_factory=dict)
    """Per provider that failed its checks or verification: the message and the parameter at fault."""


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
        credentials, verification = await self._prepare(request.user_id, request.credentials, request.verify_first)
        if verification is not None and not verification.valid:
            return ConfigureResult(stored=None, verification=verification)
        stored = await self._store.save(request.user_id, credentials, enabled=request.enabled)
        if verification is not None:
            await self._store.record_verification(
                request.user_id, credentials.provider, Verification(True, datetime.now(UTC))
            )
        return ConfigureResult(stored=stored, verification=verification)

    async def execute_all(
        self, user_id: str, wanted: Sequence[ProviderCredentials], *, verify_first: bool = False
    ) -> ConfigureAllResult:
        """Several providers at once, all or none: each is checked (and with `verify_first`
        verified) as `execute` does; only if every one passes are they saved, in one transaction
        (`CredentialStore.save_all`). Otherwise nothing is stored and `failures` says why, per
        provider. A store failure (a database error) also stores none, and propagates."""
        await asyncio.to_thread(self._registry.require_user, user_id)
        ready: list[ProviderCredentials] = []
        failures: dict[ProviderName, tuple[str, str | None]] = {}
        for given in wanted:
            try:
                credentials, verification = await self._prepare(user_id, given, verify_first)
            except InvalidRequestError as exc:
                failures[given.provider] = (exc.message, exc.param)
                continue
            if verification is not None and not verification.valid:
                failures[given.provider] = (verification.error or "verification failed", None)
                continue
            ready.append(credentials)
        if failures:
            return ConfigureAllResult(stored=[], failures=failures)
        stamp = Verification(True, datetime.now(UTC)) if verify_first else None
        return ConfigureAllResult(stored=await self._store.save_all(user_id, ready, verification=stamp))

    async def _prepare(
        self, user_id: str, given: ProviderCredentials, verify_first: bool
    ) -> tuple[ProviderCredentials, VerificationResult | None]:
        """The credentials to store (stored secrets kept where allowed, validated) and, with
        `verify_first`, their verification; `InvalidRequestError` if they are not fit."""
        if not given.api_key.get_secret_value() or given.client_secret is None:
            given = keep_stored_secrets(given, await self._store.get(user_id, given.provider))
        credentials = self.validate(given)
        verification = None
        if verify_first:
            verification = await self._verify.execute(VerifyRequest(credentials.provider, credentials, user_id=None))
        return credentials, verification

    def validate(self, credentials: ProviderCredentials) -> ProviderCredentials:
        """The credentials, normalised, or `InvalidRequestError` saying what is wrong."""
        return validate_user_credentials(credentials, allow_private=self._allow_private)
