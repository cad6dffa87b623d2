"""`UserStore` over SQL: users and the SHA-256 of their API tokens.

A token is `ifg_` + 32 random bytes (urlsafe base64). With that much entropy a plain SHA-256
cannot be brute-forced, so no slow KDF is needed, and the lookup is by hash: the database never
compares a token, and no timing of a comparison depends on it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import SecretStr
from sqlalchemy import Engine, exc, select, update
from sqlmodel import col

from ideaforge_gateway.adapters.sql.engine import transaction
from ideaforge_gateway.adapters.sql.tables import UserRow
from ideaforge_gateway.domain.credentials import User
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.ports.user_store import UserStore

TOKEN_PREFIX = "ifg_"
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class SqlModelUserStore(UserStore):
    """Users in the `users` table, one session (one transaction) per operation.

    - `create` raises `InvalidRequestError` for a name that is taken or not 1-64 of
      `A-Z a-z 0-9 _ . @ -`; it returns the token once, which is stored only as its hash.
    - `authenticate` returns None for an unknown token or a revoked user.
    - `revoke` is idempotent: True whenever the user exists (now revoked), False otherwise.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, name: str) -> tuple[User, SecretStr]:
        if not _NAME.fullmatch(name):
            raise InvalidRequestError("a user name is 1 to 64 letters, digits, '_', '.', '@' or '-'")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = UserRow(
            id=uuid.uuid4().hex,
            name=name,
            token_hash=hash_token(token),
            created_at=datetime.now(UTC),
        )
        try:
            with transaction(self._engine, write=True) as session:
                session.add(row)
        except exc.IntegrityError:
            raise InvalidRequestError(f"a user named {name!r} already exists") from None
        return _to_domain(row), SecretStr(token)

    def authenticate(self, token: SecretStr) -> User | None:
        value = token.get_secret_value()
        if not value:
            return None
        with transaction(self._engine) as session:
            row = session.scalars(
                select(UserRow)
                .where(col(UserRow.token_hash) == hash_token(value))
                .where(col(UserRow.revoked_at).is_(None))
            ).one_or_none()
            return None if row is None else _to_domain(row)

    def get(self, user_id: str) -> User | None:
        with transaction(self._engine) as session:
            row = session.get(UserRow, user_id)
            return None if row is None else _to_domain(row)

    def get_by_name(self, name: str) -> User | None:
        with transaction(self._engine) as session:
            row = session.scalars(select(UserRow).where(col(UserRow.name) == name)).one_or_none()
            return None if row is None else _to_domain(row)

    def list(self) -> Sequence[User]:
        """Every user, revoked ones included, oldest first."""
        with transaction(self._engine) as session:
            rows = session.scalars(select(UserRow).order_by(col(UserRow.created_at), col(UserRow.name))).all()
            return [_to_domain(row) for row in rows]

    def revoke(self, name: str) -> bool:
        with transaction(self._engine, write=True) as session:
            session.execute(
                update(UserRow)
                .where(col(UserRow.name) == name)
                .where(col(UserRow.revoked_at).is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            exists = session.scalars(select(col(UserRow.id)).where(col(UserRow.name) == name)).one_or_none()
            return exists is not None


def _to_domain(row: UserRow) -> User:
    return User(id=row.id, name=row.name, created_at=row.created_at, revoked_at=row.revoked_at)
