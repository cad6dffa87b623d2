"""Re-encrypt stored secrets under the primary key, so an old key can then be removed.

The procedure for operators: put the new key first in IDEAFORGE_ENCRYPTION_KEYS, keeping the old
one after it; run the rotation; then drop the old key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import col

from ideaforge_gateway.adapters.crypto.aesgcm_cipher import AesGcmCipher, DecryptionError
from ideaforge_gateway.adapters.sql.engine import transaction
from ideaforge_gateway.adapters.sql.sqlmodel_credential_store import binding
from ideaforge_gateway.adapters.sql.tables import API_KEY_FIELD, CLIENT_SECRET_FIELD, UserApiKeyRow

Progress = Callable[[int, int], None]
"""Called with (rows done, rows in total) after each row's transaction commits."""


@dataclass(frozen=True, slots=True)
class UnreadableRow:
    """A row whose secrets did not decrypt with any configured key; it was left as it was."""

    user_id: str
    provider: str
    reason: str


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What a rotation did. `rows_reencrypted` is 0 when everything was already current."""

    primary_kid: str
    rows_scanned: int
    rows_reencrypted: int
    values_reencrypted: int
    unreadable: tuple[UnreadableRow, ...] = ()


def rotate_keys(engine: Engine, cipher: AesGcmCipher, progress: Progress | None = None) -> RotationReport:
    """Re-encrypt every stored secret that is not under `cipher`'s primary key.

    - One transaction per row, holding that row's lock: a kill at any moment leaves each row
      entirely old or entirely new, and running again finishes the job.
    - Idempotent: values already under the primary key are not touched, so a second run
      re-encrypts nothing.
    - A row that does not decrypt (its key is not in the ring, or it was tampered with) is left
      unchanged and listed in the report; the rotation goes on with the others.
    - The plaintext is unchanged, so the store revision is not incremented.
    """
    with transaction(engine) as session:
        ids = list(session.scalars(select(col(UserApiKeyRow.id)).order_by(col(UserApiKeyRow.id))).all())
    total = len(ids)
    rows_reencrypted = values_reencrypted = 0
    unreadable: list[UnreadableRow] = []
    for done, row_id in enumerate(ids, start=1):
        with transaction(engine, write=True) as session:
            row = session.scalars(
                select(UserApiKeyRow).where(col(UserApiKeyRow.id) == row_id).with_for_update()
            ).one_or_none()
            if row is not None:
                try:
                    changed = _rotate_row(row, cipher)
                except DecryptionError as error:
                    unreadable.append(UnreadableRow(row.user_id, row.provider, error.detail))
                    changed = 0
                if changed:
                    session.add(row)
                    rows_reencrypted += 1
                    values_reencrypted += changed
        if progress is not None:
            progress(done, total)
    return RotationReport(
        primary_kid=cipher.primary_kid,
        rows_scanned=total,
        rows_reencrypted=rows_reencrypted,
        values_reencrypted=values_reencrypted,
        unreadable=tuple(unreadable),
    )


def _rotate_row(row: UserApiKeyRow, cipher: AesGcmCipher) -> int:
    """Re-encrypt the row's stale values in place; how many. Decrypts all before changing any."""
    changed = 0
    api_key = row.api_key_encrypted
    if not cipher.is_current(api_key):
        api_key = cipher.reencrypt(api_key, binding(row.user_id, row.provider, API_KEY_FIELD))
        changed += 1
    meta: dict[str, Any] = dict(row.meta)
    secret = meta.get(CLIENT_SECRET_FIELD)
    if isinstance(secret, str) and not cipher.is_current(secret):
        meta[CLIENT_SECRET_FIELD] = cipher.reencrypt(secret, binding(row.user_id, row.provider, CLIENT_SECRET_FIELD))
        changed += 1
    if changed:
        row.api_key_encrypted = api_key
        row.meta = meta  # a new dict: JSON columns do not track in-place mutation
    return changed
