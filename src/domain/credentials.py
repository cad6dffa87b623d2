"""Provider credentials as the product uses them, and as a user has stored them."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import SecretStr

from ideaforge_gateway.domain.models import ProviderName


class AuthMethod(StrEnum):
    """How AI Gateway service-account credentials reach the gateway."""

    CLIENT_SECRET_BASIC = "client_secret_basic"
    """OAuth2 client credentials, id and secret in an HTTP Basic header (RFC 6749 §2.3.1)."""
    CLIENT_SECRET_POST = "client_secret_post"
    """OAuth2 client credentials, id and secret in the form body."""
    STATIC_KEY = "static_key"
    """No token exchange: `client_id:client_secret` is sent as the bearer key."""


# A per-process key, so that fingerprints identify a credential in memory without being a
# reusable hash of a (possibly low-entropy) secret.
_FINGERPRINT_KEY = secrets.token_bytes(32)


@dataclass(frozen=True, slots=True)
class ProviderCredentials:
    """Everything needed to call one provider.

    For the AI Gateway `api_key` is the service account's client id and `client_secret` its
    secret; for the vendors `api_key` is the API key. `base_url` of None means the default.
    """

    provider: ProviderName
    api_key: SecretStr
    client_secret: SecretStr | None = None
    base_url: str | None = None
    default_model: str | None = None
    token_url: str | None = None
    auth_method: AuthMethod | None = None
    scope: str | None = None
    audience: str | None = None
    instance_id: str | None = None
    """The AI Gateway instance whose per-family routes to use (`gateway_routes.py`); None: the
    base URL's OpenAI-compatible `/v1`, as before instance ids existed."""
    env: str | None = None
    region: str | None = None
    route_template: str | None = None
    """With `instance_id`: the environment, region and route template; None means the operator's."""

    def fingerprint(self) -> str:
        """A process-local identity of these exact credentials, safe to log or use as a key."""
        return self._keyed_digest(_FINGERPRINT_KEY, 12)

    def label(self, key: bytes) -> str:
        """A short identity (8 hex digits) of these credentials, keyed by `key`: the same in
        every worker and across restarts when `key` is (one derived from the encryption key
        ring, say), yet no reusable hash of the secret. For metric labels and health views."""
        return self._keyed_digest(key, 4)

    def _keyed_digest(self, key: bytes, size: int) -> str:
        digest = hashlib.blake2b(key=key, digest_size=size)
        for part in (
            self.provider.value,
            self.api_key.get_secret_value(),
            self.client_secret.get_secret_value() if self.client_secret else "",
            self.base_url or "",
            self.token_url or "",
            self.auth_method.value if self.auth_method else "",
            self.scope or "",
            self.audience or "",
            self.instance_id or "",
            self.env or "",
            self.region or "",
            self.route_template or "",
        ):
            digest.update(part.encode())
            digest.update(b"\x00")
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of the last verification of a stored credential."""

    ok: bool
    at: datetime
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """A user's stored credential for one provider.

    `credentials` is None when the stored value cannot be decrypted (key lost, value tampered
    with); `unreadable_reason` then says why and the user must configure the provider again.
    """

    user_id: str
    provider: ProviderName
    credentials: ProviderCredentials | None
    enabled: bool = True
    updated_at: datetime | None = None
    verification: Verification | None = None
    unreadable_reason: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def needs_reconfiguration(self) -> bool:
        return self.credentials is None


@dataclass(frozen=True, slots=True)
class User:
    """A user of the gateway, who authenticates with an API token stored only as a hash."""

    id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
