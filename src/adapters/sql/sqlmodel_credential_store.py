"""`CredentialStore` over SQL: one `user_api_keys` row per user and provider, secrets encrypted.

The client id or API key goes to `api_key_encrypted`, the client secret to `metadata` under
`client_secret`, each encrypted with AES-256-GCM and bound to (user id, provider, field name),
so a value copied to another row or field does not decrypt.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, exc, select, update
from sqlmodel import Session, col

from ideaforge_gateway.adapters.crypto.aesgcm_cipher import AesGcmCipher, DecryptionError, FieldBinding
from ideaforge_gateway.adapters.sql.engine import transaction
from ideaforge_gateway.adapters.sql.tables import (
    API_KEY_FIELD,
    CLIENT_SECRET_FIELD,
    StoreRevisionRow,
    UserApiKeyRow,
)
from ideaforge_gateway.domain.credentials import AuthMethod, ProviderCredentials, StoredCredential, Verification
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.ports.credential_store import CredentialStore

_PLAIN_SETTINGS = (
    "base_url",
    "default_model",
    "token_url",
    "scope",
    "audience",
    "instance_id",
    "env",
    "region",
    "route_template",
)
"""Settings kept in plain text in `metadata` (a JSON column: a new one needs no migration)."""
_ORDER = {provider: index for index, provider in enumerate(ProviderName)}
MAX_VERIFICATION_ERROR = 1000


def binding(user_id: str, provider: str, field: str) -> FieldBinding:
    """Where a stored secret belongs; the key-rotation job binds values the same way."""
    return FieldBinding(user_id=user_id, provider=provider, field=field)


def bump_revision(session: Session) -> int:
    """Increment the store revision in the session's transaction and return the new value.

    Run it first in a write transaction: its row lock serialises credential writers.
    """
    value = session.execute(
        update(StoreRevisionRow)
        .where(col(StoreRevisionRow.id) == 1)
        .values(value=col(StoreRevisionRow.value) + 1)
        .returning(col(StoreRevisionRow.value))
    ).scalar_one()
    return int(value)


class SqlModelCredentialStore(CredentialStore):
    """Credentials in `user_api_keys`, one session (one transaction) per operation.

    - `get` / `list` never raise for a value that does not decrypt: that row comes back with
      `credentials=None` and an `unreadable_reason`; other rows are unaffected.
    - `save` is an upsert in one transaction; it resets the last verification, which was about
      the previous credentials. It raises `InvalidRequestError` for an unknown user id.
    - Every change (save, delete, set_enabled, record_verification) increments the shared
      revision in the same transaction, so other processes' cached statuses are refreshed.
    """

    def __init__(self, engine: Engine, cipher: AesGcmCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    def get(self, user_id: str, provider: ProviderName) -> StoredCredential | None:
        with transaction(self._engine) as session:
            row = session.scalars(_select_one(user_id, provider)).one_or_none()
            return None if row is None else self._to_domain(row)

    def list(self, user_id: str) -> Sequence[StoredCredential]:
        with transaction(self._engine) as session:
            rows = session.scalars(select(UserApiKeyRow).where(col(UserApiKeyRow.user_id) == user_id)).all()
            stored = [self._to_domain(row) for row in rows]
        return sorted(stored, key=lambda credential: _ORDER[credential.provider])

    def save(self, user_id: str, credentials: ProviderCredentials, *, enabled: bool = True) -> StoredCredential:
        return self.save_all(user_id, [credentials], enabled=enabled)[0]

    def save_all(
        self,
        user_id: str,
        credentials: Sequence[ProviderCredentials],
        *,
        enabled: bool = True,
        verification: Verification | None = None,
    ) -> Sequence[StoredCredential]:
        """Upsert every credential in one transaction (all saved or none), one revision for all;
        with `verification`, each row records it, else its last verification is reset."""
        if len({c.provider for c in credentials}) != len(credentials):
            raise InvalidRequestError("each provider may be given once")
        now = datetime.now(UTC)
        encoded = [
            (
                c,
                self._cipher.encrypt(c.api_key.get_secret_value(), binding(user_id, c.provider, API_KEY_FIELD)),
                self._encode_meta(user_id, c),
            )
            for c in credentials
        ]
        try:
            with transaction(self._engine, write=True) as session:
                revision = bump_revision(session)
                for given, api_key, meta in encoded:
                    row = session.scalars(_select_one(user_id, given.provider)).one_or_none()
                    if row is None:
                        row = UserApiKeyRow(
                            id=uuid.uuid4().hex,
                            user_id=user_id,
                            provider=given.provider.value,
                            api_key_encrypted=api_key,
                            created_at=now,
                            updated_at=now,
                        )
                    row.api_key_encrypted = api_key
                    row.meta = meta
                    row.enabled = enabled
                    row.updated_at = now
                    row.revision = revision
                    row.last_verified_at = verification.at if verification else None
                    row.last_verification_ok = verification.ok if verification else None
                    row.last_verification_error = _short(verification.error) if verification else None
                    session.add(row)
        except exc.IntegrityError:
            raise InvalidRequestError(
                f"cannot store credentials: there is no user with id {user_id!r}",
                provider=credentials[0].provider if credentials else None,
            ) from None
        return [
            StoredCredential(
                user_id=user_id,
                provider=c.provider,
                credentials=c,
                enabled=enabled,
                updated_at=now,
                verification=verification,
            )
            for c in credentials
        ]

    def delete(self, user_id: str, provider: ProviderName) -> bool:
        """Whether there was a credential to delete."""
        with transaction(self._engine, write=True) as session:
            bump_revision(session)
            row = session.scalars(_select_one(user_id, provider)).one_or_none()
            if row is None:
                session.rollback()  # nothing changed: leave the revision alone
                return False
            session.delete(row)
            return True

    def set_enabled(self, user_id: str, provider: ProviderName, enabled: bool) -> bool:
        """Whether the credential exists (it is then enabled or disabled as asked)."""
        with transaction(self._engine, write=True) as session:
            revision = bump_revision(session)
            row = session.scalars(_select_one(user_id, provider)).one_or_none()
            if row is None or row.enabled == enabled:
                session.rollback()
                return row is not None
            row.enabled = enabled
            row.updated_at = datetime.now(UTC)
            row.revision = revision
            session.add(row)
            return True

    def record_verification(self, user_id: str, provider: ProviderName, verification: Verification) -> None:
        """Record the outcome on the stored credential; a no-op if there is none."""
        error = _short(verification.error)
        with transaction(self._engine, write=True) as session:
            bump_revision(session)  # other processes' cached statuses now show the old result
            session.execute(
                update(UserApiKeyRow)
                .where(col(UserApiKeyRow.user_id) == user_id)
                .where(col(UserApiKeyRow.provider) == provider.value)
                .values(
                    last_verified_at=verification.at,
                    last_verification_ok=verification.ok,
                    last_verification_error=error,
                )
            )

    def revision(self) -> int:
        """One primary-key lookup; grows with every credential change in any process."""
        with self._engine.connect() as connection:
            value = connection.execute(
                select(col(StoreRevisionRow.value)).where(col(StoreRevisionRow.id) == 1)
            ).scalar_one()
            connection.rollback()
        return int(value)

    def _encode_meta(self, user_id: str, credentials: ProviderCredentials) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if credentials.client_secret is not None:
            meta[CLIENT_SECRET_FIELD] = self._cipher.encrypt(
                credentials.client_secret.get_secret_value(),
                binding(user_id, credentials.provider, CLIENT_SECRET_FIELD),
            )
        for name in _PLAIN_SETTINGS:
            value = getattr(credentials, name)
            if value is not None:
                meta[name] = value
        if credentials.auth_method is not None:
            meta["auth_method"] = credentials.auth_method.value
        return meta

    def _to_domain(self, row: UserApiKeyRow) -> StoredCredential:
        provider = ProviderName(row.provider)
        meta = row.meta if isinstance(row.meta, dict) else {}
        verification = None
        if row.last_verified_at is not None and row.last_verification_ok is not None:
            verification = Verification(
                ok=row.last_verification_ok,
                at=row.last_verified_at,
                error=row.last_verification_error,
            )
        credentials: ProviderCredentials | None = None
        reason: str | None = None
        try:
            credentials = self._decode(row, provider, meta)
        except DecryptionError as error:
            reason = (
                f"stored credentials for {provider} cannot be decrypted ({error.detail}): configure the provider again"
            )
        except (ValueError, TypeError):
            reason = f"stored settings for {provider} are invalid: configure the provider again"
        known = {CLIENT_SECRET_FIELD, "auth_method", *_PLAIN_SETTINGS}
        extra = {k: v for k, v in meta.items() if k not in known and isinstance(v, str)}
        return StoredCredential(
            user_id=row.user_id,
            provider=provider,
            credentials=credentials,
            enabled=row.enabled,
            updated_at=row.updated_at,
            verification=verification,
            unreadable_reason=reason,
            extra=extra,
        )

    def _decode(self, row: UserApiKeyRow, provider: ProviderName, meta: dict[str, Any]) -> ProviderCredentials:
        api_key = self._cipher.decrypt(row.api_key_encrypted, binding(row.user_id, provider, API_KEY_FIELD))
        secret = meta.get(CLIENT_SECRET_FIELD)
        client_secret = None
        if secret is not None:
            client_secret = SecretStr(
                self._cipher.decrypt(_text(secret), binding(row.user_id, provider, CLIENT_SECRET_FIELD))
            )
        auth_method = _optional_text(meta.get("auth_method"))
        return ProviderCredentials(
            provider=provider,
            api_key=SecretStr(api_key),
            client_secret=client_secret,
            base_url=_optional_text(meta.get("base_url")),
            default_model=_optional_text(meta.get("default_model")),
            token_url=_optional_text(meta.get("token_url")),
            auth_method=AuthMethod(auth_method) if auth_method is not None else None,
            scope=_optional_text(meta.get("scope")),
            audience=_optional_text(meta.get("audience")),
            instance_id=_optional_text(meta.get("instance_id")),
            env=_optional_text(meta.get("env")),
            region=_optional_text(meta.get("region")),
            route_template=_optional_text(meta.get("route_template")),
        )


def _select_one(user_id: str, provider: ProviderName) -> Any:
    return (
        select(UserApiKeyRow)
        .where(col(UserApiKeyRow.user_id) == user_id)
        .where(col(UserApiKeyRow.provider) == provider.value)
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _short(error: str | None) -> str | None:
    """A verification error cut to the column's size."""
    if error is not None and len(error) > MAX_VERIFICATION_ERROR:
        return error[: MAX_VERIFICATION_ERROR - 1] + "…"
    return error
