from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ideaforge_gateway.application.credential_rules import validate_user_credentials
from ideaforge_gateway.application.credential_writes import CredentialWrites
from ideaforge_gateway.application.model_availability import gateway_model_warnings
from ideaforge_gateway.application.model_catalog import CatalogView
from ideaforge_gateway.application.registry import ProviderRegistry, ResolvedProvider
from ideaforge_gateway.domain.credentials import ProviderCredentials, Verification
from ideaforge_gateway.domain.errors import ConfigurationError, GatewayError, ProviderUnavailableError
from ideaforge_gateway.domain.models import ModelInfo, ProviderName
from ideaforge_gateway.domain.ports.provider_factory import ProviderFactory
from ideaforge_gateway.domain.tenancy import acting_for


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    provider: ProviderName
    credentials: ProviderCredentials | None = None
    """Credentials to try without storing them; None verifies what the user or environment has."""
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class VerificationResult:
    valid: bool
    provider: ProviderName
    models: list[ModelInfo] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None
    note: str | None = None
    """Set when the credentials work but requests do not use them (say, `AI_GATEWAY_ENABLED` is off)."""
    warnings: list[str] = field(default_factory=list)
    """Models these credentials would be asked for that the AI Gateway does not offer, each
    naming the setting to change (`model_availability.py`)."""


class VerifyCredentials:
    """Check that credentials work, as the seed defines it.

    - Obtain a token (for the AI Gateway), then list models; valid only if both succeed.
    - Given credentials must pass the same rules as stored ones (base-URL policy included);
      they are never stored or cached.
    - Otherwise the user's stored credentials are checked (even when disabled), else the
      environment's (even when `AI_GATEWAY_ENABLED` is false, which the result's `note` then
      says); the outcome is recorded on a stored credential.
    - It ends within `deadline` seconds, like every other operation: a token endpoint or API
      that accepts the connection and never answers is a failure (`unavailable`) at the deadline.
    - Valid AI Gateway credentials are also checked for the models they would be asked for (the
      tier models, the default model, the user's own default): each one the instance's catalog
      (or, without one, the model list) lacks is a warning naming the setting to change.
    - A failure is a result (`valid=False` and a message without secrets), not an exception;
      an unknown or revoked user is raised (`UnknownUserError`), as everywhere.
    """

    def __init__(
        self,
        registry: ProviderRegistry,
        factory: ProviderFactory,
        store: CredentialWrites | None = None,
        *,
        allow_private_base_urls: bool = False,
        deadline: float = 60.0,
        catalog: CatalogView | None = None,
    ) -> None:
        self._catalog = catalog
        self._registry = registry
        self._factory = factory
        self._store = store
        self._allow_private = allow_private_base_urls
        self._deadline = deadline

    async def execute(self, request: VerifyRequest) -> VerificationResult:
        if request.user_id is not None:
            # not a verdict on credentials: raised; the user store is read off the event loop
            await asyncio.to_thread(self._registry.require_user, request.user_id)
        provider = request.provider
        stored_for_user = False
        try:
            if request.credentials is not None:
                credentials = validate_user_credentials(request.credentials, allow_private=self._allow_private)
                client = self._factory.build(credentials)
            else:
                await self._registry.load(request.user_id)  # off the event loop, if not cached
                credentials, stored_for_user = self._credentials_to_verify(request)
                client = self._registry.client_for_credentials(credentials)
            async with asyncio.timeout(self._deadline):
                with acting_for(request.user_id):
                    models = await client.list_models()
                    warnings = await self._warnings(credentials, models)
        except TimeoutError:
            late = ProviderUnavailableError(
                f"{provider.value} did not answer within the deadline of {self._deadline:g} s"
                " (set by IDEAFORGE_DEADLINE_SECONDS)",
                provider=provider,
            )
            result = VerificationResult(False, provider, error=late.message, error_kind=late.kind)
        except GatewayError as exc:
            result = VerificationResult(False, provider, error=exc.message, error_kind=exc.kind)
        else:
            note = None if stored_for_user or request.credentials is not None else self._registry.idle_reason(provider)
            result = VerificationResult(True, provider, models=models, note=note, warnings=warnings)
        if stored_for_user and self._store is not None and request.user_id is not None:
            await self._store.record_verification(
                request.user_id, provider, Verification(result.valid, datetime.now(UTC), result.error)
            )
        return result

    async def _warnings(self, credentials: ProviderCredentials, models: list[ModelInfo]) -> list[str]:
        defaults = self._registry.config.defaults(credentials.provider)
        resolved = ResolvedProvider(
            credentials.provider, credentials, "user", defaults.tier_models, defaults.default_model,
            credentials.default_model,
        )  # fmt: skip
        return await gateway_model_warnings(resolved, {m.id for m in models}, self._catalog)

    def _credentials_to_verify(self, request: VerifyRequest) -> tuple[ProviderCredentials, bool]:
        if request.user_id is not None:
            stored = self._registry.stored(request.user_id).get(request.provider)
            if stored is not None:
                if stored.credentials is None:
                    self._registry.require(request.provider, request.user_id)  # raises, says why
                else:
                    return stored.credentials, True
        defaults = self._registry.config.defaults(request.provider)
        if defaults.credentials is None:
            # Raises the registry's explanation of what to set.
            self._registry.require(request.provider, None)
            raise ConfigurationError(f"{request.provider.value} is not configured", provider=request.provider)
        return defaults.credentials, False
