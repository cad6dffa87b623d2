from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ideaforge_gateway.application.credential_rules import validate_user_credentials
from ideaforge_gateway.application.credential_writes import CredentialWrites
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
    - A base URL must pass the user base-URL policy (https, public addresses) unless private
      addresses are allowed by the operator.
    - With `verify_first`, credentials that fail verification are not stored and the result says
      why; with it, the stored row records the successful verification.
    - The next request uses the new credentials: the store's writes drop the registry's cache
      for this user (`CredentialWrites`), and never on the event loop.
    """

    def __init__(
        self,
        store: CredentialWrites,
        verify: VerifyCredentials,
        *,
        allow_private_base_urls: bool = False,
    ) -> None:
        self._store = store
        self._verify = verify
        self._allow_private = allow_private_base_urls

    async def execute(self, request: ConfigureRequest) -> ConfigureResult:
        credentials = self.validate(request.credentials)
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
