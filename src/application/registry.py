"""The provider registry: which providers a user may use, with which credentials, and the
clients for them, reused while their credentials stay the same."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ideaforge_gateway.domain.config import GatewayConfig, TierModels
from ideaforge_gateway.domain.credentials import ProviderCredentials, StoredCredential
from ideaforge_gateway.domain.errors import ConfigurationError, CredentialUnreadableError, UnknownUserError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.ports.credential_store import CredentialStore
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider
from ideaforge_gateway.domain.ports.provider_factory import ProviderFactory
from ideaforge_gateway.domain.ports.user_store import UserStore

Source = Literal["user", "environment"]


@dataclass(frozen=True, slots=True)
class ResolvedProvider:
    """A provider as one user would use it now: whose credentials, which models."""

    provider: ProviderName
    credentials: ProviderCredentials
    source: Source
    tier_models: TierModels
    default_model: str | None
    user_default_model: str | None


class ProviderRegistry:
    """Resolves providers for the environment (`user_id=None`) or for one user.

    Business rules:
    - A user's stored credential for a provider wins over the environment's, for that user only.
    - A stored credential the user disabled makes that provider unusable for that user.
    - A stored credential that cannot be decrypted makes it unusable, never silently replaced
      by the environment's (the user must see that it needs reconfiguring).
    - The environment's AI Gateway is used only when `AI_GATEWAY_ENABLED` is true.
    - Clients (and their token caches) are shared per credential fingerprint and dropped when
      no user resolves to that fingerprint any more; changes made by other processes are seen
      within `revision_interval` seconds.
    - A user id must name an active user (when the registry knows the users): an unknown or
      revoked one raises `UnknownUserError`, never falls back to the environment's credentials.
    - Resolving is synchronous and may read the store; async callers `await load(user_id)` first,
      which reads in a worker thread, and then resolve from what it cached, with no store I/O
      on the event loop (the revision is checked by `load`, not again on the loop).
    - `store` and `users` may be given as zero-argument callables, called on first need: the
      environment alone (`user_id=None`) never opens the database.
    - While the store fails with one of `outage_errors` (the database is unreachable), a user
      already cached is resolved from the cache for `grace` seconds after the last successful
      revision check; past it, or for a user not cached, the store's error propagates.
    """

    def __init__(
        self,
        config: GatewayConfig,
        factory: ProviderFactory,
        store: CredentialStore | Callable[[], CredentialStore] | None = None,
        *,
        users: UserStore | Callable[[], UserStore] | None = None,
        revision_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        grace: float = 0.0,
        outage_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self._config = config
        self._grace = grace
        self._outage_errors = outage_errors
        self._factory = factory
        self._store_source = store
        self._users_source = users
        self._lazy_lock = threading.Lock()
        """Held while a lazy store is built: once, even if threads ask at the same time."""
        self._revision_interval = revision_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, LLMProvider] = {}
        self._stored: dict[str, dict[ProviderName, StoredCredential]] = {}
        self._stale: set[str] = set()
        self._revision: int | None = None
        self._revision_checked_at = float("-inf")
        self._epoch = 0
        """Grows with every invalidation; a read that saw it change is not cached."""

    @property
    def config(self) -> GatewayConfig:
        return self._config

    # The seed's interface.
    def has_ai_gateway(self, user_id: str | None = None) -> bool:
        return self.resolve(ProviderName.AI_GATEWAY, user_id) is not None

    def get_ai_gateway_client(self, user_id: str | None = None) -> LLMProvider:
        return self.client(self.require(ProviderName.AI_GATEWAY, user_id))

    # Resolution.
    def resolve(self, provider: ProviderName, user_id: str | None = None) -> ResolvedProvider | None:
        """The credentials `user_id` would use for `provider`, or None if it is not usable."""
        defaults = self._config.defaults(provider)
        stored = self._stored_for(user_id).get(provider)
        if stored is not None:
            if not stored.enabled or stored.credentials is None:
                return None
            creds = stored.credentials
            return ResolvedProvider(
                provider, creds, "user", defaults.tier_models, defaults.default_model, creds.default_model
            )
        if defaults.usable and defaults.credentials is not None:
            return ResolvedProvider(
                provider, defaults.credentials, "environment", defaults.tier_models, defaults.default_model, None
            )
        return None

    def idle_environment_providers(self) -> list[str]:
        """Why each provider the environment has credentials for is not used, one clause each
        (empty when every one of them is): its switch is off, or it is out of the priority order."""
        reasons = (self.idle_reason(p) for p in self._config.providers)
        return [r for r in reasons if r is not None]

    def idle_reason(self, provider: ProviderName) -> str | None:
        """Why the environment's credentials for `provider` are not used, or None."""
        defaults = self._config.defaults(provider)
        if defaults.credentials is None:
            return None
        if not defaults.enabled and provider is ProviderName.AI_GATEWAY:
            return (
                "the environment's AI Gateway credentials are set, but AI_GATEWAY_ENABLED is not true, "
                "so requests do not use them: set AI_GATEWAY_ENABLED=true"
            )
        if not defaults.enabled:
            return f"the environment's {provider.value} credentials are set, but switched off"
        if provider not in self._config.order:
            return (
                f"the environment's {provider.value} credentials are set, but {provider.value} is not in "
                "IDEAFORGE_PROVIDER_ORDER"
            )
        return None

    def require(self, provider: ProviderName, user_id: str | None = None) -> ResolvedProvider:
        """Like `resolve`, but says why a provider cannot be used."""
        resolved = self.resolve(provider, user_id)
        if resolved is not None:
            return resolved
        stored = self._stored_for(user_id).get(provider)
        if stored is not None and stored.credentials is None:
            raise CredentialUnreadableError(
                stored.unreadable_reason or f"stored credentials for {provider.value} need reconfiguration",
                provider=provider,
            )
        if stored is not None:
            raise ConfigurationError(f"{provider.value} is disabled in this user's settings", provider=provider)
        idle = self.idle_reason(provider)
        if idle is not None:
            raise ConfigurationError(f"{provider.value} is not used: {idle}", provider=provider)
        raise ConfigurationError(_not_configured(provider), provider=provider)

    def usable(self, user_id: str | None = None) -> list[ResolvedProvider]:
        """The providers this user may use, in the configured priority order."""
        found = (self.resolve(p, user_id) for p in self._config.order)
        return [r for r in found if r is not None]

    def stored(self, user_id: str) -> dict[ProviderName, StoredCredential]:
        return dict(self._stored_for(user_id))

    # Clients.
    def client(self, resolved: ResolvedProvider) -> LLMProvider:
        return self.client_for_credentials(resolved.credentials)

    def client_for_credentials(self, credentials: ProviderCredentials) -> LLMProvider:
        """The shared client for these exact credentials, built on first use."""
        key = credentials.fingerprint()
        with self._lock:
            existing = self._clients.get(key)
            if existing is not None:
                return existing
        built = self._factory.build(credentials)
        with self._lock:
            return self._clients.setdefault(key, built)

    def loaded(self, user_id: str | None) -> bool:
        """Whether resolving for `user_id` needs no store I/O right now."""
        if user_id is None or self._store_source is None:
            return True
        if self._clock() - self._revision_checked_at >= self._revision_interval:
            return False
        with self._lock:
            return user_id in self._stored and user_id not in self._stale

    async def load(self, user_id: str | None) -> None:
        """Read what resolving for `user_id` needs from the store in a worker thread, unless it is
        cached: an async caller then resolves without blocking its event loop on the database."""
        if not self.loaded(user_id):
            await asyncio.to_thread(self._stored_for, user_id)

    def forget_user(self, user_id: str) -> None:
        """Drop what is cached for `user_id` (after this process changed their credentials)."""
        with self._lock:
            self._epoch += 1
            self._stored.pop(user_id, None)
            self._drop_unused_clients()

    @property
    def _store(self) -> CredentialStore | None:
        if callable(self._store_source):  # a store itself is not callable: this is the lazy form
            with self._lazy_lock:
                if callable(self._store_source):
                    self._store_source = self._store_source()
        return self._store_source

    def require_user(self, user_id: str) -> None:
        """Raise `UnknownUserError` unless `user_id` is an active user (or users are not known here)."""
        if callable(self._users_source):
            with self._lazy_lock:
                if callable(self._users_source):
                    self._users_source = self._users_source()
        source = self._users_source
        if source is None:
            return
        user = source.get(user_id)
        if user is None or not user.active:
            raise UnknownUserError(user_id, revoked=user is not None)

    def _stored_for(self, user_id: str | None) -> dict[ProviderName, StoredCredential]:
        if user_id is None or self._store_source is None:
            return {}
        if not _on_event_loop():
            # On a loop, `load` (in a worker thread) has just checked: no store I/O here.
            self._check_revision()
        with self._lock:
            cached = self._stored.get(user_id)
            if cached is not None and user_id not in self._stale:
                return cached
            epoch = self._epoch
        self.require_user(user_id)
        store = self._store
        assert store is not None
        loaded = {s.provider: s for s in store.list(user_id)}
        with self._lock:
            # Cached only if nothing was invalidated while it was read (reads may overlap, in
            # worker threads): a slower, older read must not overwrite a newer one.
            if self._epoch == epoch:
                self._stored[user_id] = loaded
                self._stale.discard(user_id)
                self._drop_unused_clients()
        return loaded

    def _check_revision(self) -> None:
        now = self._clock()
        if now - self._revision_checked_at < self._revision_interval:
            return
        store = self._store
        assert store is not None
        try:
            revision = store.revision()
        except self._outage_errors:
            if now - self._revision_checked_at < self._grace:
                return  # serve what is cached: see the class docstring
            raise
        with self._lock:
            self._revision_checked_at = now
            if revision != self._revision:
                # Reload each cached user when next asked for: a user whose credentials did not
                # change keeps their clients and warm token caches.
                self._revision = revision
                self._epoch += 1
                self._stale.update(self._stored)

    def _drop_unused_clients(self) -> None:
        """Keep clients still reachable from the environment or a cached user; caller holds the lock."""
        live = {d.credentials.fingerprint() for d in self._config.providers.values() if d.credentials}
        for per_user in self._stored.values():
            live.update(s.credentials.fingerprint() for s in per_user.values() if s.credentials)
        for key in [k for k in self._clients if k not in live]:
            del self._clients[key]


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _not_configured(provider: ProviderName) -> str:
    if provider is ProviderName.AI_GATEWAY:
        return (
            "the AI Gateway is not configured: set AI_GATEWAY_CLIENT_ID, AI_GATEWAY_CLIENT_SECRET and "
            "AI_GATEWAY_ENABLED=true, or configure it in the user's settings"
        )
    env = {
        ProviderName.OPENAI: "OPENAI_API_KEY",
        ProviderName.ANTHROPIC: "ANTHROPIC_API_KEY",
        ProviderName.GEMINI: "GEMINI_API_KEY",
    }[provider]
    return f"{provider.value} is not configured: set {env} or configure it in the user's settings"
