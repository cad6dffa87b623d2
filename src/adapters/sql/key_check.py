"""Start-up checks that the configured keys read what is stored (issue 18, case 4).

A lost or wrong key used to be silent: a new key file was made under the old key id, and every
stored credential then read as "altered". These checks make it loud, at start, in one line:
- `stored_key_ids`: the key ids the stored values were encrypted under (no key needed);
- `check_keyring`: every key id found in the rows must be configured, and each configured one
  must decrypt a value stored under it; otherwise `ConfigurationError` naming the key ids found
  vs. the key ids configured, and what to do.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, inspect, select
from sqlmodel import col

from ideaforge_gateway.adapters.crypto.aesgcm_cipher import AesGcmCipher, DecryptionError, key_id_of
from ideaforge_gateway.adapters.sql.engine import make_engine, transaction
from ideaforge_gateway.adapters.sql.sqlmodel_credential_store import binding
from ideaforge_gateway.adapters.sql.tables import API_KEY_FIELD, UserApiKeyRow
from ideaforge_gateway.domain.errors import ConfigurationError

RESTORE = "restore it or set IDEAFORGE_ENCRYPTION_KEYS"


def stored_key_ids(engine: Engine) -> Counter[str]:
    """How many stored credentials each key id encrypted (their client id or API key); empty
    when the table does not exist yet."""
    if not inspect(engine).has_table(UserApiKeyRow.__tablename__):
        return Counter()
    with transaction(engine) as session:
        values = session.scalars(select(col(UserApiKeyRow.api_key_encrypted))).all()
    return Counter(key_id_of(v) or "?" for v in values)


def stored_key_ids_at(database_url: str) -> Counter[str]:
    """`stored_key_ids` of the database at `database_url`, which may not exist yet."""
    engine = make_engine(database_url)
    try:
        return stored_key_ids(engine)
    finally:
        engine.dispose()


def check_keyring(engine: Engine, cipher: AesGcmCipher) -> None:
    """Raise `ConfigurationError` unless the key ring reads the stored credentials.

    - A key id found in the rows but not configured: the key was lost or left out.
    - A configured key id whose key does not decrypt a value stored under it: a wrong key under
      that id (say, a key file made again after the old one was deleted).
    A few values per key id are tried, so the check costs milliseconds.
    """
    found = stored_key_ids(engine)
    if not found:
        return
    configured = cipher.keyring.kids
    missing = sorted(kid for kid in found if kid not in configured)
    wrong = [kid for kid in found if kid in configured and not _decrypts_one(engine, cipher, kid)]
    if not missing and not wrong:
        return
    listed = ", ".join(f"{kid} ({count})" for kid, count in sorted(found.items()))
    problem = (
        f"key id {', '.join(missing)} is not configured"
        if missing
        else f"the key configured as {', '.join(wrong)} does not decrypt the values stored under that id"
    )
    raise ConfigurationError(
        f"the encryption keys do not read the stored credentials: {problem}; stored values use key ids "
        f"{listed}, configured: {', '.join(configured)}; {RESTORE} with the right key"
    )


def _decrypts_one(engine: Engine, cipher: AesGcmCipher, kid: str, sample: int = 16) -> bool:
    """Whether the key under `kid` decrypts any of (up to `sample` of) the values stored under it,
    bound to any of their rows: a value moved to another row (tampering) still proves the key
    right; only a key that opens none of them is the wrong key."""
    under_kid = col(UserApiKeyRow.api_key_encrypted).startswith(f"v1.{kid}.", autoescape=True)
    with transaction(engine) as session:
        mine = session.scalars(select(UserApiKeyRow).where(under_kid).limit(sample)).all()
    bindings = [binding(r.user_id, r.provider, API_KEY_FIELD) for r in mine]
    for row in mine:
        for where in bindings:
            try:
                cipher.decrypt(row.api_key_encrypted, where)
            except DecryptionError:
                continue
            return True
    return not mine
